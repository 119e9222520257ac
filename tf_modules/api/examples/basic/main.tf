provider "aws" {
  region = var.region
}

locals {
  tags = {
    Project     = "trading-platform"
    Environment = var.environment_suffix
    Example     = "tf_modules/api/examples/basic"
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

################################################################################
# API module
################################################################################

module "api" {
  source = "../../"

  environment_suffix   = var.environment_suffix
  stage_name           = var.environment_suffix
  lambda_function_name = aws_lambda_function.trades.function_name
  lambda_invoke_arn    = aws_lambda_function.trades.invoke_arn
  kms_key_arn          = aws_kms_key.logs.arn

  trade_routes_authorization = "AWS_IAM"
  throttling_burst_limit     = 100
  throttling_rate_limit      = 50

  create_custom_domain = true
  domain_name          = "api.${aws_route53_zone.this.name}"
  zone_id              = aws_route53_zone.this.zone_id

  tags = local.tags

  # Stages log through the region's API Gateway CloudWatch role, which must exist first.
  depends_on = [module.account_settings]
}

# One per account and region: deploy it once (here for a self-contained example).
module "account_settings" {
  source = "../../modules/account-settings"

  environment_suffix = var.environment_suffix
  tags               = local.tags
}

# The caller owns the zone's records: alias the custom domain to the API's regional endpoint.
resource "aws_route53_record" "api" {
  zone_id = aws_route53_zone.this.zone_id
  name    = module.api.domain_name
  type    = "A"

  alias {
    name                   = module.api.domain_regional_domain_name
    zone_id                = module.api.domain_regional_zone_id
    evaluate_target_health = false
  }
}

################################################################################
# Supporting resources
################################################################################

resource "aws_route53_zone" "this" {
  name          = "${var.environment_suffix}.example.com"
  force_destroy = true

  tags = merge(local.tags, { Name = "zone-${var.environment_suffix}" })
}

resource "aws_kms_key" "logs" {
  description             = "Log encryption for the api example (${var.environment_suffix})"
  enable_key_rotation     = true
  deletion_window_in_days = 7

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:*"
          }
        }
      },
    ]
  })

  tags = merge(local.tags, { Name = "kms-logs-${var.environment_suffix}" })
}

resource "aws_iam_role" "lambda" {
  name = "role-lambda-trades-${var.environment_suffix}"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = merge(local.tags, { Name = "role-lambda-trades-${var.environment_suffix}" })
}

resource "aws_iam_role_policy_attachment" "lambda_logs" {
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_cloudwatch_log_group" "lambda" {
  name              = "/aws/lambda/lambda-trades-${var.environment_suffix}"
  retention_in_days = 30
  kms_key_id        = aws_kms_key.logs.arn

  tags = merge(local.tags, { Name = "/aws/lambda/lambda-trades-${var.environment_suffix}" })
}

resource "aws_lambda_function" "trades" {
  function_name = "lambda-trades-${var.environment_suffix}"
  role          = aws_iam_role.lambda.arn
  runtime       = "python3.12"
  handler       = "app.handler"
  memory_size   = 512
  timeout       = 30
  s3_bucket     = var.lambda_s3_bucket
  s3_key        = var.lambda_s3_key

  tracing_config {
    mode = "Active"
  }

  tags = merge(local.tags, { Name = "lambda-trades-${var.environment_suffix}" })

  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy_attachment.lambda_logs]
}
