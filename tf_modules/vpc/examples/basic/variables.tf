variable "region" {
  description = "AWS region to deploy the example into (for example `us-east-1`)."
  type        = string
  default     = "us-east-1"
}

variable "environment_suffix" {
  description = "Suffix appended to every resource name (for example `dev`)."
  type        = string
  default     = "example"
}
