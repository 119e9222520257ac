locals {
  name = "api-${var.environment_suffix}"

  # Access log record: one JSON object per request. `$context.requestId` is mandatory for API Gateway.
  default_access_log_format = jsonencode({
    requestId          = "$context.requestId"
    extendedRequestId  = "$context.extendedRequestId"
    apiId              = "$context.apiId"
    stage              = "$context.stage"
    requestTime        = "$context.requestTime"
    requestTimeEpoch   = "$context.requestTimeEpoch"
    httpMethod         = "$context.httpMethod"
    resourcePath       = "$context.resourcePath"
    path               = "$context.path"
    protocol           = "$context.protocol"
    status             = "$context.status"
    responseLength     = "$context.responseLength"
    responseLatency    = "$context.responseLatency"
    integrationLatency = "$context.integration.latency"
    integrationStatus  = "$context.integration.status"
    integrationError   = "$context.integration.error"
    errorMessage       = "$context.error.message"
    errorResponseType  = "$context.error.responseType"
    sourceIp           = "$context.identity.sourceIp"
    userAgent          = "$context.identity.userAgent"
    caller             = "$context.identity.caller"
    userArn            = "$context.identity.userArn"
    xrayTraceId        = "$context.xrayTraceId"
  })

  access_log_format = coalesce(var.access_log_format, local.default_access_log_format)
}

################################################################################
# REST API
################################################################################

resource "aws_api_gateway_rest_api" "this" {
  name        = local.name
  description = "Trading platform REST API (${var.environment_suffix})"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = merge(var.tags, { Name = local.name })

  # A replacement API exists before the old one goes, so the stage never points at nothing (checkov CKV_AWS_237).
  lifecycle {
    create_before_destroy = true
  }
}

# Rejects requests whose declared parameters (the trade id in the path) or body are missing before Lambda is invoked.
resource "aws_api_gateway_request_validator" "this" {
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  name                        = "validator-${local.name}"
  validate_request_body       = true
  validate_request_parameters = true
}

# Routes: /trades (POST), /trades/{id} (GET), /health (GET), all Lambda proxy integrations.

resource "aws_api_gateway_resource" "trades" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "trades"
}

resource "aws_api_gateway_resource" "trade_by_id" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.trades.id
  path_part   = "{id}"
}

resource "aws_api_gateway_resource" "health" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "health"
}

locals {
  # Keyed by route ("METHOD /path") so adding or removing a route never renumbers the others.
  routes = {
    "POST /trades" = {
      resource_id        = aws_api_gateway_resource.trades.id
      http_method        = "POST"
      authorization      = var.trade_routes_authorization
      request_parameters = {}
    }
    "GET /trades/{id}" = {
      resource_id        = aws_api_gateway_resource.trade_by_id.id
      http_method        = "GET"
      authorization      = var.trade_routes_authorization
      request_parameters = { "method.request.path.id" = true }
    }
    "GET /health" = {
      resource_id        = aws_api_gateway_resource.health.id
      http_method        = "GET"
      authorization      = "NONE"
      request_parameters = {}
    }
  }
}

resource "aws_api_gateway_method" "route" {
  for_each = local.routes

  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = each.value.resource_id
  http_method          = each.value.http_method
  authorization        = each.value.authorization
  request_parameters   = each.value.request_parameters
  request_validator_id = aws_api_gateway_request_validator.this.id
}

resource "aws_api_gateway_integration" "route" {
  for_each = local.routes

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_method.route[each.key].resource_id
  http_method = aws_api_gateway_method.route[each.key].http_method

  # Lambda proxy integrations are always invoked with POST, whatever the client's method.
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = var.lambda_invoke_arn
}

################################################################################
# Lambda Permission
################################################################################

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowInvokeFromApiGateway-${local.name}"
  action        = "lambda:InvokeFunction"
  function_name = var.lambda_function_name
  # An alias (or version) has its own resource policy: the permission must be on what the integration invokes.
  qualifier = var.lambda_qualifier
  principal = "apigateway.amazonaws.com"

  # Any stage, method and resource path of this API only (.../<stage>/<method>/<path>).
  source_arn = "${aws_api_gateway_rest_api.this.execution_arn}/*/*"

  lifecycle {
    # A permission on one qualifier and an integration invoking another answer every request with 500.
    precondition {
      condition     = var.lambda_qualifier == null ? !can(regex(":function:[^:/]+:[^:/]+/invocations$", var.lambda_invoke_arn)) : endswith(var.lambda_invoke_arn, ":${coalesce(var.lambda_qualifier, "-")}/invocations")
      error_message = "lambda_invoke_arn and lambda_qualifier must name the same target: the invoke ARN of alias or version lambda_qualifier, or an unqualified invoke ARN with lambda_qualifier = null."
    }
  }
}

################################################################################
# Deployment and Stage
################################################################################

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Deployment of ${local.name}"

  # Ids alone miss changes made in place (authorization, integration URI); whole objects would also redeploy
  # once after every create, when the provider's refresh turns unset attributes from null into "" or {}.
  # So: ids plus the configured values that define the API.
  triggers = {
    redeployment = sha1(jsonencode({
      resources = {
        for name, resource in {
          trades      = aws_api_gateway_resource.trades
          trade_by_id = aws_api_gateway_resource.trade_by_id
          health      = aws_api_gateway_resource.health
        } : name => [resource.id, resource.parent_id, resource.path_part]
      }
      methods = {
        for key, route in local.routes : key => [
          aws_api_gateway_method.route[key].id,
          aws_api_gateway_method.route[key].http_method,
          aws_api_gateway_method.route[key].authorization,
          route.request_parameters,
        ]
      }
      integrations = {
        for key, integration in aws_api_gateway_integration.route : key => [
          integration.id,
          integration.type,
          integration.integration_http_method,
          integration.uri,
        ]
      }
    }))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [aws_api_gateway_integration.route]
}

resource "aws_api_gateway_stage" "this" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name
  description   = "Stage ${var.stage_name} of ${local.name}"

  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format          = local.access_log_format
  }

  tags = merge(var.tags, { Name = "stage-${local.name}" })

  depends_on = [
    aws_cloudwatch_log_group.access,
    aws_cloudwatch_log_group.execution,
  ]
}

resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = var.logging_level
    data_trace_enabled     = false
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  # Execution logging must find the module-owned group, or API Gateway creates one without retention or KMS.
  depends_on = [aws_cloudwatch_log_group.execution]
}

################################################################################
# CloudWatch Logs
################################################################################

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${local.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = "/aws/apigateway/${local.name}" })
}

# API Gateway writes execution logs to this fixed name; owning it sets retention and encryption.
resource "aws_cloudwatch_log_group" "execution" {
  count = var.logging_level == "OFF" ? 0 : 1

  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = "execution-logs-${local.name}" })
}

################################################################################
# Custom Domain
################################################################################

resource "aws_acm_certificate" "this" {
  count = var.create_custom_domain ? 1 : 0

  domain_name       = var.domain_name
  validation_method = "DNS"

  tags = merge(var.tags, { Name = "cert-${local.name}" })

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = var.domain_name != null && var.zone_id != null
      error_message = "domain_name and zone_id are required when create_custom_domain is true."
    }
  }
}

resource "aws_route53_record" "certificate_validation" {
  for_each = {
    for option in flatten(aws_acm_certificate.this[*].domain_validation_options) : option.domain_name => {
      name   = option.resource_record_name
      type   = option.resource_record_type
      record = option.resource_record_value
    }
  }

  zone_id         = var.zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 60
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  count = var.create_custom_domain ? 1 : 0

  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for record in aws_route53_record.certificate_validation : record.fqdn]
}

resource "aws_api_gateway_domain_name" "this" {
  count = var.create_custom_domain ? 1 : 0

  domain_name              = var.domain_name
  regional_certificate_arn = aws_acm_certificate_validation.this[0].certificate_arn
  security_policy          = "TLS_1_2"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = merge(var.tags, { Name = "domain-${local.name}" })
}

resource "aws_api_gateway_base_path_mapping" "this" {
  count = var.create_custom_domain ? 1 : 0

  api_id      = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  domain_name = aws_api_gateway_domain_name.this[0].domain_name
}
