locals {
  suffix = var.environment_suffix

  # Per-AZ maps keyed by AZ name: adding or removing an AZ never renumbers the others. The `if` keeps these
  # expressions valid when the list lengths differ, so the precondition on aws_vpc.this reports the mismatch.
  public_subnets  = { for i, az in var.azs : az => var.public_subnets[i] if i < length(var.public_subnets) }
  private_subnets = { for i, az in var.azs : az => var.private_subnets[i] if i < length(var.private_subnets) }

  # One NAT gateway in the first AZ, or one per AZ.
  nat_azs = var.single_nat_gateway ? slice(var.azs, 0, 1) : var.azs

  # The NAT gateway each private route table sends internet traffic to.
  private_route_nat_az = { for az in var.azs : az => var.single_nat_gateway ? var.azs[0] : az }

  # Cross-variable checks (Terraform >= 1.5 cannot reference other variables in a validation block).
  vpc_prefix        = try(tonumber(split("/", var.cidr)[1]), 0)
  all_subnet_cidrs  = concat(var.public_subnets, var.private_subnets)
  subnet_lengths_ok = length(var.public_subnets) == length(var.azs) && length(var.private_subnets) == length(var.azs)
  subnets_outside_vpc = [
    for c in local.all_subnet_cidrs : c
    if !try(tonumber(split("/", c)[1]) >= local.vpc_prefix && cidrsubnet("${split("/", c)[0]}/${local.vpc_prefix}", 0, 0) == var.cidr, false)
  ]
  # a contains b  <=>  prefix(b) >= prefix(a) and b's address truncated to a's prefix is a.
  overlapping_subnets = flatten([
    for i, a in local.all_subnet_cidrs : [
      for j, b in local.all_subnet_cidrs : "${a} and ${b}"
      if i < j && (
        try(tonumber(split("/", b)[1]) >= tonumber(split("/", a)[1]) && cidrsubnet("${split("/", b)[0]}/${split("/", a)[1]}", 0, 0) == a, false) ||
        try(tonumber(split("/", a)[1]) >= tonumber(split("/", b)[1]) && cidrsubnet("${split("/", a)[0]}/${split("/", b)[1]}", 0, 0) == b, false)
      )
    ]
  ])

  flow_log_group_name = "/aws/vpc-flow-logs/vpc-${local.suffix}"
}

################################################################################
# VPC
################################################################################

resource "aws_vpc" "this" {
  cidr_block           = var.cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(var.tags, { Name = "vpc-${local.suffix}" })

  lifecycle {
    precondition {
      condition     = local.subnet_lengths_ok
      error_message = "public_subnets (${length(var.public_subnets)}) and private_subnets (${length(var.private_subnets)}) must each have exactly one CIDR per entry of azs (${length(var.azs)}), in the same order."
    }

    precondition {
      condition     = length(local.subnets_outside_vpc) == 0
      error_message = "Every subnet CIDR must lie inside the VPC cidr ${var.cidr}; outside: ${join(", ", local.subnets_outside_vpc)}."
    }

    precondition {
      condition     = length(local.overlapping_subnets) == 0
      error_message = "Subnet CIDRs must not overlap; overlapping: ${join("; ", local.overlapping_subnets)}."
    }
  }
}

################################################################################
# Public Subnets
################################################################################

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "igw-${local.suffix}" })
}

resource "aws_subnet" "public" {
  for_each = local.public_subnets

  vpc_id            = aws_vpc.this.id
  availability_zone = each.key
  cidr_block        = each.value

  # Nothing but the NAT gateways (which use Elastic IPs) lives here: no automatic public IPs (checkov CKV_AWS_130).
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "subnet-public-${each.key}-${local.suffix}" })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "rtb-public-${local.suffix}" })
}

resource "aws_route" "public_internet_gateway" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  for_each = local.public_subnets

  subnet_id      = aws_subnet.public[each.key].id
  route_table_id = aws_route_table.public.id
}

################################################################################
# Private Subnets
################################################################################

resource "aws_subnet" "private" {
  for_each = local.private_subnets

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = each.value
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "subnet-private-${each.key}-${local.suffix}" })
}

# One route table per AZ whatever the NAT layout, so switching single_nat_gateway only changes routes.
resource "aws_route_table" "private" {
  for_each = local.private_subnets

  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "rtb-private-${each.key}-${local.suffix}" })
}

resource "aws_route_table_association" "private" {
  for_each = local.private_subnets

  subnet_id      = aws_subnet.private[each.key].id
  route_table_id = aws_route_table.private[each.key].id
}

################################################################################
# NAT Gateway
################################################################################

resource "aws_eip" "nat" {
  for_each = toset(local.nat_azs)

  domain = "vpc"

  tags = merge(var.tags, { Name = "eip-nat-${each.key}-${local.suffix}" })

  # An Elastic IP in a VPC needs the internet gateway to exist first.
  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  for_each = toset(local.nat_azs)

  allocation_id = aws_eip.nat[each.key].id
  subnet_id     = aws_subnet.public[each.key].id

  tags = merge(var.tags, { Name = "nat-${each.key}-${local.suffix}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route" "private_nat_gateway" {
  for_each = { for az, cidr in local.private_subnets : az => local.private_route_nat_az[az] }

  route_table_id         = aws_route_table.private[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[each.value].id
}

################################################################################
# Default Security Group
################################################################################

# Adopting the default security group without ingress/egress blocks removes all its rules: it denies all traffic.
resource "aws_default_security_group" "this" {
  count = var.manage_default_security_group ? 1 : 0

  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "sg-default-${local.suffix}" })
}

################################################################################
# Flow Log
################################################################################

# The account id pins the role's trust policy to flow logs of this account (confused-deputy protection).
data "aws_caller_identity" "current" {
  count = var.enable_flow_log ? 1 : 0
}

resource "aws_cloudwatch_log_group" "flow_log" {
  count = var.enable_flow_log ? 1 : 0

  name              = local.flow_log_group_name
  retention_in_days = var.flow_log_retention_in_days
  kms_key_id        = var.kms_key_arn
  skip_destroy      = false

  tags = merge(var.tags, { Name = local.flow_log_group_name })

  lifecycle {
    # Optional only while the flow log is off (Terraform >= 1.5 cannot compare variables in a validation block).
    precondition {
      condition     = var.kms_key_arn != null
      error_message = "kms_key_arn is required while enable_flow_log is true: it encrypts the flow log group. Pass a KMS key ARN, or set enable_flow_log = false."
    }
  }
}

resource "aws_iam_role" "flow_log" {
  count = var.enable_flow_log ? 1 : 0

  name        = "role-vpc-flow-logs-${local.suffix}"
  description = "Lets VPC Flow Logs deliver the flow log of vpc-${local.suffix} to ${local.flow_log_group_name}."

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowVpcFlowLogsAssumeRole"
        Effect    = "Allow"
        Principal = { Service = "vpc-flow-logs.amazonaws.com" }
        Action    = "sts:AssumeRole"
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current[0].account_id }
        }
      }
    ]
  })

  force_detach_policies = true

  tags = merge(var.tags, { Name = "role-vpc-flow-logs-${local.suffix}" })
}

resource "aws_iam_role_policy" "flow_log" {
  count = var.enable_flow_log ? 1 : 0

  name = "policy-vpc-flow-logs-${local.suffix}"
  role = aws_iam_role.flow_log[0].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WriteFlowLogStreams"
        Effect = "Allow"
        Action = [
          "logs:CreateLogStream",
          "logs:PutLogEvents",
          "logs:DescribeLogStreams",
        ]
        # The group's ARN as the provider reports it has no trailing `:*`; this form covers the group's streams.
        Resource = ["${aws_cloudwatch_log_group.flow_log[0].arn}:*"]
      }
    ]
  })
}

resource "aws_flow_log" "this" {
  count = var.enable_flow_log ? 1 : 0

  vpc_id                   = aws_vpc.this.id
  traffic_type             = var.flow_log_traffic_type
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_log[0].arn
  iam_role_arn             = aws_iam_role.flow_log[0].arn
  max_aggregation_interval = var.flow_log_max_aggregation_interval

  tags = merge(var.tags, { Name = "flow-log-${local.suffix}" })

  # The group must exist (encrypted, with retention) before delivery starts, and the role must hold its policy.
  depends_on = [aws_cloudwatch_log_group.flow_log, aws_iam_role_policy.flow_log]
}
