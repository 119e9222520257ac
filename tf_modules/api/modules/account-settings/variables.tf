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
# IAM Role
################################################################################

variable "iam_role_permissions_boundary" {
  description = "ARN of an IAM policy to set as the role's permissions boundary (`arn:aws:iam::<account>:policy/<name>`); `null` sets none."
  type        = string
  default     = null

  validation {
    condition     = var.iam_role_permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.iam_role_permissions_boundary))
    error_message = "iam_role_permissions_boundary must be an IAM policy ARN (arn:aws:iam::<account>:policy/<name>) or null."
  }
}

################################################################################
# API Gateway Account
################################################################################

variable "manage_account_settings" {
  description = "Whether to point the region's API Gateway account settings at the role (`true`), or only create the role (`false`) when another stack already manages `aws_api_gateway_account`."
  type        = bool
  default     = true
  nullable    = false
}
