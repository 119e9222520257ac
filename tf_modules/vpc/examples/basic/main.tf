# A complete root module: a KMS key usable by CloudWatch Logs, and a two-AZ VPC with one shared NAT gateway
# (the dev/staging layout). Set single_nat_gateway = false for one NAT gateway per AZ (the prod layout).

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  tags = {
    Project     = "trading-platform"
    Environment = var.environment_suffix
    ManagedBy   = "terraform"
  }
}

################################################################################
# KMS key for the flow log group
################################################################################

resource "aws_kms_key" "this" {
  description             = "Encrypts the VPC flow log group of vpc-${var.environment_suffix}."
  deletion_window_in_days = 7
  enable_key_rotation     = true

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowAccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "AllowCloudWatchLogsOfThisAccount"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:*"
          }
        }
      }
    ]
  })

  tags = merge(local.tags, { Name = "kms-${var.environment_suffix}" })
}

################################################################################
# VPC
################################################################################

module "vpc" {
  source = "../../"

  environment_suffix = var.environment_suffix
  tags               = local.tags

  cidr            = "10.0.0.0/16"
  azs             = ["${var.region}a", "${var.region}b"]
  public_subnets  = ["10.0.0.0/24", "10.0.1.0/24"]
  private_subnets = ["10.0.10.0/24", "10.0.11.0/24"]

  single_nat_gateway = true

  enable_flow_log            = true
  kms_key_arn                = aws_kms_key.this.arn
  flow_log_retention_in_days = 30
  flow_log_traffic_type      = "ALL"
}
