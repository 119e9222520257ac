variable "region" {
  description = "AWS region whose API Gateway account settings are set, e.g. `us-east-1`."
  type        = string
  default     = "us-east-1"
}

variable "environment_suffix" {
  description = "Suffix of the role name, e.g. `dev`."
  type        = string
  default     = "dev"
}
