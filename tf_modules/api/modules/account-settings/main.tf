locals {
  role_name = "role-apigateway-cloudwatch-${var.environment_suffix}"
}

data "aws_partition" "current" {}

################################################################################
# IAM Role
################################################################################

resource "aws_iam_role" "cloudwatch" {
  name        = local.role_name
  description = "Lets API Gateway write access and execution logs to CloudWatch Logs (${var.environment_suffix})."

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "ApiGatewayAssumeRole"
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  permissions_boundary  = var.iam_role_permissions_boundary
  force_detach_policies = true

  tags = merge(var.tags, { Name = local.role_name })
}

resource "aws_iam_role_policy_attachment" "cloudwatch" {
  role       = aws_iam_role.cloudwatch.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

################################################################################
# API Gateway Account
################################################################################

# One per account and region: every REST API stage of the region logs through this role.
resource "aws_api_gateway_account" "this" {
  count = var.manage_account_settings ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.cloudwatch.arn

  # API Gateway checks that it can assume the role and write logs, so the policy must be attached first.
  depends_on = [aws_iam_role_policy_attachment.cloudwatch]
}
