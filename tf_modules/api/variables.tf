variable "environment_suffix" {
  description = "Suffix appended to every resource name as `<type>-<suffix>`, e.g. `dev`, `staging`, `prod` (lowercase letters, digits and `-`, at most 21 characters)."
  type        = string

  validation {
    condition     = length(var.environment_suffix) <= 21 && can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "environment_suffix must be 1-21 lowercase letters or digits, words joined by single hyphens (^[a-z0-9]+(-[a-z0-9]+)*$): names such as the RDS identifier aurora-<suffix> reject a trailing or doubled hyphen."
  }
}

variable "tags" {
  description = "Tags merged into the tags of every taggable resource, next to a `Name` tag set by the module."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# REST API
################################################################################

variable "lambda_invoke_arn" {
  description = "Invoke ARN of the Lambda function behind every route (`aws_lambda_function.invoke_arn`, `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function-arn>/invocations`)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?/invocations$", var.lambda_invoke_arn))
    error_message = "lambda_invoke_arn must be a Lambda invoke ARN: arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function-arn>/invocations."
  }
}

variable "trade_routes_authorization" {
  description = "Authorization of the trade routes `POST /trades` and `GET /trades/{id}`: `AWS_IAM` (SigV4-signed callers) or `NONE`; `GET /health` is always `NONE`."
  type        = string
  default     = "AWS_IAM"
  nullable    = false

  validation {
    condition     = contains(["AWS_IAM", "NONE"], var.trade_routes_authorization)
    error_message = "trade_routes_authorization must be AWS_IAM or NONE."
  }
}

################################################################################
# Lambda Permission
################################################################################

variable "lambda_function_name" {
  description = "Name or ARN of the Lambda function behind `lambda_invoke_arn`, which gets the permission for API Gateway to invoke it."
  type        = string

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:)?[A-Za-z0-9_-]{1,64}$", var.lambda_function_name))
    error_message = "lambda_function_name must be a Lambda function name (1 to 64 letters, digits, '-' or '_') or an unqualified function ARN."
  }
}

variable "lambda_qualifier" {
  description = "Alias or version of the function that `lambda_invoke_arn` invokes (e.g. `live`), which the permission for API Gateway is then scoped to; `lambda_invoke_arn` must be that alias's or version's invoke ARN. `null` (the default) for the unqualified function."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_qualifier == null || can(regex("^([0-9]+|[A-Za-z0-9_-]*[A-Za-z_-][A-Za-z0-9_-]*)$", coalesce(var.lambda_qualifier, "-"))) && length(coalesce(var.lambda_qualifier, "-")) <= 128
    error_message = "lambda_qualifier must be a Lambda alias name (letters, digits, '-' or '_', not only digits, at most 128 characters) or a version number; $LATEST is the unqualified function (null)."
  }
}

################################################################################
# Deployment and Stage
################################################################################

variable "stage_name" {
  description = "Name of the API stage, usually the workspace, e.g. `dev`, `staging`, `prod` (letters, digits, `-` and `_`, at most 128 characters)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name must be 1 to 128 letters, digits, '-' or '_'."
  }
}

variable "throttling_burst_limit" {
  description = "Stage-wide throttling burst limit (requests) for every method (`*/*`); a whole number greater than `0`."
  type        = number
  default     = 200
  nullable    = false

  validation {
    condition     = var.throttling_burst_limit > 0 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a whole number greater than 0."
  }
}

variable "throttling_rate_limit" {
  description = "Stage-wide steady-state throttling rate limit (requests per second) for every method (`*/*`); greater than `0`."
  type        = number
  default     = 100
  nullable    = false

  validation {
    condition     = var.throttling_rate_limit > 0
    error_message = "throttling_rate_limit must be greater than 0."
  }
}

variable "logging_level" {
  description = "Execution logging level for every method (`*/*`): `OFF`, `ERROR` or `INFO`; request and response bodies are never logged."
  type        = string
  default     = "ERROR"
  nullable    = false

  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.logging_level)
    error_message = "logging_level must be OFF, ERROR or INFO."
  }
}

variable "access_log_format" {
  description = "Access log format of the stage, which must contain `$context.requestId` or `$context.extendedRequestId`; `null` uses the module's JSON format (one object per request)."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_format == null || can(regex("\\$context\\.(requestId|extendedRequestId)", var.access_log_format))
    error_message = "access_log_format must contain $context.requestId or $context.extendedRequestId."
  }
}

################################################################################
# CloudWatch Logs
################################################################################

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the module's log groups (`arn:aws:kms:<region>:<account>:key/<id>`); its key policy must allow the `logs.<region>.amazonaws.com` principal."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the access and execution log groups in days, one of the values CloudWatch Logs accepts (`1`, `3`, `5`, `7`, `14`, `30`, `60`, `90`, ... `3653`); never-expire `0` is not allowed."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

################################################################################
# Custom Domain
################################################################################

variable "create_custom_domain" {
  description = "Whether to create the custom domain (`true`/`false`): ACM certificate with DNS validation, regional domain name and base path mapping to the stage; `true` requires `domain_name` and `zone_id`."
  type        = bool
  default     = true
  nullable    = false
}

variable "domain_name" {
  description = "Custom domain name of the API, a lowercase hostname such as `api.dev.example.com`; required when `create_custom_domain` is `true`."
  type        = string
  default     = null

  validation {
    condition     = var.domain_name == null || (can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.domain_name)) && length(coalesce(var.domain_name, "-")) <= 253)
    error_message = "domain_name must be a lowercase fully qualified hostname such as api.dev.example.com (no wildcard, no trailing dot, at most 253 characters)."
  }
}

variable "zone_id" {
  description = "ID of the Route 53 hosted zone that receives the ACM DNS validation records, e.g. `Z0123456789ABCDEFGHIJ`; required when `create_custom_domain` is `true`."
  type        = string
  default     = null

  validation {
    condition     = var.zone_id == null || can(regex("^[A-Z0-9]{1,32}$", var.zone_id))
    error_message = "zone_id must be a Route 53 hosted zone ID (uppercase letters and digits, without the /hostedzone/ prefix)."
  }
}
