provider "aws" {
  region = local.region
}

locals {
  region             = "us-east-1"
  environment_suffix = "example"
  azs                = ["us-east-1a", "us-east-1b", "us-east-1c"]

  tags = {
    Project     = "trading"
    Environment = local.environment_suffix
  }
}

data "aws_caller_identity" "current" {}

################################################################################
# Aurora module
################################################################################

module "aurora" {
  source = "../../"

  environment_suffix = local.environment_suffix
  kms_key_arn        = aws_kms_key.data.arn

  vpc_id             = aws_vpc.this.id
  subnet_ids         = [for s in aws_subnet.database : s.id]
  availability_zones = local.azs

  # Static label as key, so for_each works while the group id is still unknown at plan time.
  allowed_security_group_ids = {
    app = aws_security_group.app.id
  }

  # Writer + 2 readers on db.r5.large (the defaults), spelled out for the reader.
  instance_class = "db.r5.large"
  replica_count  = 2

  # A disposable example: no final snapshot. Production passes false (the default).
  skip_final_snapshot = true
  apply_immediately   = true

  # Alarms on the WRITER/READER role metrics, notifying the alert topic on ALARM and on OK.
  create_cloudwatch_alarms = true
  cloudwatch_alarm_actions = [aws_sns_topic.alerts.arn]
  cloudwatch_ok_actions    = [aws_sns_topic.alerts.arn]
  cloudwatch_alarm_thresholds = {
    cpu_utilization_percent = 75
    connections_percent     = 80
  }

  tags = local.tags
}

################################################################################
# Supporting resources
################################################################################

resource "aws_vpc" "this" {
  cidr_block           = "10.42.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(local.tags, { Name = "vpc-${local.environment_suffix}" })
}

resource "aws_subnet" "database" {
  for_each = { for i, az in local.azs : az => i }

  vpc_id            = aws_vpc.this.id
  availability_zone = each.key
  cidr_block        = cidrsubnet(aws_vpc.this.cidr_block, 8, 100 + each.value)

  tags = merge(local.tags, { Name = "subnet-database-${each.key}-${local.environment_suffix}" })
}

resource "aws_security_group" "app" {
  name        = "security-group-app-${local.environment_suffix}"
  description = "Application clients of the Aurora cluster"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "sg-app-${local.environment_suffix}" })
}

resource "aws_security_group_rule" "app_to_mysql" {
  type                     = "egress"
  description              = "MySQL to the Aurora cluster"
  security_group_id        = aws_security_group.app.id
  protocol                 = "tcp"
  from_port                = module.aurora.cluster_port
  to_port                  = module.aurora.cluster_port
  source_security_group_id = module.aurora.security_group_id
}

# Where the alarms send their notifications; subscribe e-mail or HTTPS endpoints to it.
resource "aws_sns_topic" "alerts" {
  name              = "alerts-${local.environment_suffix}"
  kms_master_key_id = aws_kms_key.data.arn

  tags = merge(local.tags, { Name = "alerts-${local.environment_suffix}" })
}

# In the project this key lives in a separate data-protection stack so it outlives the cluster and its
# final snapshots. CloudWatch Logs needs an explicit grant to use it for the log groups, and CloudWatch alarms one
# to publish to the encrypted alert topic.
resource "aws_kms_key" "data" {
  description             = "kms-data-${local.environment_suffix}"
  deletion_window_in_days = 7
  enable_key_rotation     = true

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:${local.region}:${data.aws_caller_identity.current.account_id}:log-group:*"
          }
        }
      },
      {
        Sid       = "CloudWatchAlarmsPublishToTheAlertTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:aws:cloudwatch:${local.region}:${data.aws_caller_identity.current.account_id}:alarm:alarm-aurora-*-${local.environment_suffix}" }
        }
      },
    ]
  })

  tags = merge(local.tags, { Name = "kms-data-${local.environment_suffix}" })
}
