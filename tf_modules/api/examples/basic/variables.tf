variable "region" {
  description = "AWS region to deploy the example to, e.g. `us-east-1`."
  type        = string
  default     = "us-east-1"
}

variable "environment_suffix" {
  description = "Suffix of every name in the example, e.g. `dev`."
  type        = string
  default     = "dev"
}

variable "lambda_s3_bucket" {
  description = "S3 bucket holding the Lambda deployment package."
  type        = string
}

variable "lambda_s3_key" {
  description = "S3 key of the Lambda deployment package (a zip whose `app.handler` serves the proxy events)."
  type        = string
}
