variable "region" {
  description = "Region of the state bucket, its KMS key and the lock table (the stacks' TF_STATE_REGION)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "name" {
  description = "Base of every name: the KMS alias alias/<name>, the default bucket <name>-<account>-<region> and the default lock table <name>-locks."
  type        = string
  default     = "trading-tfstate"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lower-case letters, digits or '-', starting and ending with a letter or digit."
  }
}

variable "bucket_name" {
  description = "Name of the state bucket; null derives <name>-<account id>-<region>, which is globally unique."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, '.' or '-')."
  }
}

variable "create_lock_table" {
  description = "Whether to create a DynamoDB lock table, needed only by Terraform 1.5-1.9 (1.10+ locks with a lock file in the bucket)."
  type        = bool
  default     = false
}

variable "lock_table_name" {
  description = "Name of the DynamoDB lock table when create_lock_table is true; null means <name>-locks."
  type        = string
  default     = null

  validation {
    condition     = var.lock_table_name == null || can(regex("^[A-Za-z0-9_.-]{3,255}$", var.lock_table_name))
    error_message = "lock_table_name must be 3-255 letters, digits, '_', '.' or '-'."
  }
}

variable "force_destroy" {
  description = "Whether destroy may delete a bucket that still holds states (every version). Keep false outside throwaway setups."
  type        = bool
  default     = false
}

variable "enforce_tls_only" {
  description = "Whether the bucket policy denies every request not made over TLS. Set false only on an emulator whose policy engine cannot evaluate a Bool condition (moto)."
  type        = bool
  default     = true
}

variable "noncurrent_version_expiration_days" {
  description = "Days a superseded state version is kept for recovery before S3 expires it; null keeps every version (no lifecycle rule)."
  type        = number
  default     = 90

  validation {
    condition     = try(var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days, var.noncurrent_version_expiration_days == null)
    error_message = "noncurrent_version_expiration_days must be null or a whole number of days, at least 1."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period, 7-30 days, before a deleted state key is gone; every state version depends on the key."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to every resource, beside project, purpose and managed-by."
  type        = map(string)
  default     = {}
}
