################################################################################
# VPC
################################################################################

variable "environment_suffix" {
  description = "Suffix appended to every resource name as `<type>-<suffix>` (for example `dev`, `staging`, `prod`, `pr-42`); lowercase letters, digits and hyphens, 1-21 characters, starting with a letter or digit."
  type        = string
  nullable    = false

  validation {
    condition     = length(var.environment_suffix) <= 21 && can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "environment_suffix must be 1-21 lowercase letters or digits, words joined by single hyphens (^[a-z0-9]+(-[a-z0-9]+)*$): names such as the RDS identifier aurora-<suffix> reject a trailing or doubled hyphen."
  }
}

variable "tags" {
  description = "Tags merged into the tags of every resource the module creates (a `Name` tag is added per resource)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC, a network address with a prefix length from `/16` to `/28` (for example `10.0.0.0/16`)."
  type        = string
  default     = "10.0.0.0/16"
  nullable    = false

  validation {
    condition = (
      can(cidrnetmask(var.cidr)) &&
      try(cidrsubnet(var.cidr, 0, 0) == var.cidr, false) &&
      try(tonumber(split("/", var.cidr)[1]) >= 16 && tonumber(split("/", var.cidr)[1]) <= 28, false)
    )
    error_message = "The cidr must be an IPv4 network address in CIDR notation with a prefix length from /16 to /28 (for example `10.0.0.0/16`)."
  }
}

variable "azs" {
  description = "Availability zone names to spread the subnets over, at least two and all distinct (for example `[\"us-east-1a\", \"us-east-1b\"]`); the first one hosts the shared NAT gateway when `single_nat_gateway` is `true`."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.azs) >= 2
    error_message = "At least two availability zones are required (Aurora subnet groups need subnets in two AZs)."
  }

  validation {
    condition     = length(distinct(var.azs)) == length(var.azs)
    error_message = "The availability zones in azs must be distinct."
  }

  validation {
    condition     = alltrue([for az in var.azs : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$", az))])
    error_message = "Every entry of azs must be an availability zone name such as `us-east-1a`."
  }
}

################################################################################
# Public Subnets
################################################################################

variable "public_subnets" {
  description = "IPv4 CIDR blocks of the public subnets, one per availability zone in the same order as `azs`; each is a distinct network address inside `cidr` with a prefix length from `/16` to `/28`."
  type        = list(string)
  nullable    = false

  validation {
    condition = alltrue([
      for cidr in var.public_subnets : (
        can(cidrnetmask(cidr)) &&
        try(cidrsubnet(cidr, 0, 0) == cidr, false) &&
        try(tonumber(split("/", cidr)[1]) >= 16 && tonumber(split("/", cidr)[1]) <= 28, false)
      )
    ])
    error_message = "Every entry of public_subnets must be an IPv4 network address in CIDR notation with a prefix length from /16 to /28 (for example `10.0.0.0/24`)."
  }

  validation {
    condition     = length(distinct(var.public_subnets)) == length(var.public_subnets)
    error_message = "The CIDR blocks in public_subnets must be distinct."
  }
}

################################################################################
# Private Subnets
################################################################################

variable "private_subnets" {
  description = "IPv4 CIDR blocks of the private subnets (used by Aurora and Lambda), one per availability zone in the same order as `azs`; each is a distinct network address inside `cidr` with a prefix length from `/16` to `/28`."
  type        = list(string)
  nullable    = false

  validation {
    condition = alltrue([
      for cidr in var.private_subnets : (
        can(cidrnetmask(cidr)) &&
        try(cidrsubnet(cidr, 0, 0) == cidr, false) &&
        try(tonumber(split("/", cidr)[1]) >= 16 && tonumber(split("/", cidr)[1]) <= 28, false)
      )
    ])
    error_message = "Every entry of private_subnets must be an IPv4 network address in CIDR notation with a prefix length from /16 to /28 (for example `10.0.10.0/24`)."
  }

  validation {
    condition     = length(distinct(var.private_subnets)) == length(var.private_subnets)
    error_message = "The CIDR blocks in private_subnets must be distinct."
  }
}

################################################################################
# NAT Gateway
################################################################################

variable "single_nat_gateway" {
  description = "Whether all private subnets share one NAT gateway in the first availability zone (`true`, cheaper, for dev/staging) or each availability zone gets its own NAT gateway (`false`, zone-resilient, for prod)."
  type        = bool
  default     = false
  nullable    = false
}

################################################################################
# Default Security Group
################################################################################

variable "manage_default_security_group" {
  description = "Whether to adopt the VPC's default security group and strip all its rules so it denies all traffic (`true`, checkov CKV2_AWS_12) or leave it untouched (`false`)."
  type        = bool
  default     = true
  nullable    = false
}

################################################################################
# Flow Log
################################################################################

variable "enable_flow_log" {
  description = "Whether to create a VPC flow log delivered to a CloudWatch log group (with its IAM role) owned by this module (`true` or `false`)."
  type        = bool
  default     = true
  nullable    = false
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the flow log group at rest (`arn:<partition>:kms:<region>:<account>:key/<id>`); its key policy must allow the `logs.<region>.amazonaws.com` service principal to use it. Required when `enable_flow_log` is `true`; `null` otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN such as `arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab` (alias ARNs are not accepted by CloudWatch Logs)."
  }
}

variable "flow_log_retention_in_days" {
  description = "Days CloudWatch keeps the flow log events, one of CloudWatch's allowed values `1`, `3`, `5`, `7`, `14`, `30`, `60`, `90`, `120`, `150`, `180`, `365`, `400`, `545`, `731`, `1096`, `1827`, `2192`, `2557`, `2922`, `3288` or `3653`."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_in_days)
    error_message = "The flow_log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 (never-expire is not allowed)."
  }
}

variable "flow_log_traffic_type" {
  description = "Which traffic the flow log records: `ACCEPT`, `REJECT` or `ALL`."
  type        = string
  default     = "ALL"
  nullable    = false

  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_log_traffic_type)
    error_message = "The flow_log_traffic_type must be one of `ACCEPT`, `REJECT` or `ALL`."
  }
}

variable "flow_log_max_aggregation_interval" {
  description = "Maximum seconds over which a flow is captured and aggregated into one record: `60` or `600`."
  type        = number
  default     = 600
  nullable    = false

  validation {
    condition     = contains([60, 600], var.flow_log_max_aggregation_interval)
    error_message = "The flow_log_max_aggregation_interval must be `60` or `600`."
  }
}
