# Behaviour of the module against a mocked AWS provider (offline): names, counts, NAT layouts, flow log.
# Runs share one state in file order, which the "removing an AZ" run relies on.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/role-vpc-flow-logs-test"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc-flow-logs/vpc-test"
    }
  }
}

variables {
  environment_suffix = "test"
  cidr               = "10.20.0.0/16"
  azs                = ["us-east-1a", "us-east-1b", "us-east-1c"]
  public_subnets     = ["10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24"]
  private_subnets    = ["10.20.10.0/24", "10.20.11.0/24", "10.20.12.0/24"]
  kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  tags = {
    Project     = "trading"
    Environment = "test"
  }
}

################################################################################
# VPC and subnets
################################################################################

run "vpc_and_subnets_follow_azs" {
  command = apply

  assert {
    condition     = aws_vpc.this.cidr_block == "10.20.0.0/16" && aws_vpc.this.enable_dns_support && aws_vpc.this.enable_dns_hostnames
    error_message = "The VPC must use the given CIDR with DNS support and DNS hostnames enabled."
  }

  assert {
    condition     = length(aws_subnet.public) == 3 && length(aws_subnet.private) == 3
    error_message = "There must be exactly one public and one private subnet per AZ."
  }

  assert {
    condition = (
      aws_subnet.public["us-east-1a"].cidr_block == "10.20.0.0/24" &&
      aws_subnet.public["us-east-1b"].cidr_block == "10.20.1.0/24" &&
      aws_subnet.public["us-east-1c"].cidr_block == "10.20.2.0/24" &&
      aws_subnet.private["us-east-1a"].cidr_block == "10.20.10.0/24" &&
      aws_subnet.private["us-east-1b"].cidr_block == "10.20.11.0/24" &&
      aws_subnet.private["us-east-1c"].cidr_block == "10.20.12.0/24"
    )
    error_message = "Each subnet must get the CIDR at the same position as its AZ."
  }

  assert {
    condition = alltrue([
      for az, s in merge(
        { for k, v in aws_subnet.public : "public-${k}" => v },
        { for k, v in aws_subnet.private : "private-${k}" => v },
      ) : s.availability_zone == trimprefix(trimprefix(az, "public-"), "private-") && s.map_public_ip_on_launch == false
    ])
    error_message = "Subnets must sit in the AZ of their key and never auto-assign public IPs."
  }

  assert {
    condition     = output.public_subnets == [aws_subnet.public["us-east-1a"].id, aws_subnet.public["us-east-1b"].id, aws_subnet.public["us-east-1c"].id]
    error_message = "public_subnets must list subnet IDs in AZ order."
  }

  assert {
    condition     = output.private_subnets == [aws_subnet.private["us-east-1a"].id, aws_subnet.private["us-east-1b"].id, aws_subnet.private["us-east-1c"].id]
    error_message = "private_subnets must list subnet IDs in AZ order."
  }

  assert {
    condition     = output.private_subnets_cidr_blocks == ["10.20.10.0/24", "10.20.11.0/24", "10.20.12.0/24"] && output.public_subnets_cidr_blocks == ["10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24"]
    error_message = "The CIDR block outputs must follow AZ order."
  }

  assert {
    condition     = output.vpc_id == aws_vpc.this.id && output.vpc_cidr_block == "10.20.0.0/16" && output.azs == tolist(["us-east-1a", "us-east-1b", "us-east-1c"])
    error_message = "vpc_id, vpc_cidr_block and azs outputs are wrong."
  }
}

run "routing" {
  command = apply

  assert {
    condition     = aws_route.public_internet_gateway.destination_cidr_block == "0.0.0.0/0" && aws_route.public_internet_gateway.gateway_id == aws_internet_gateway.this.id && aws_route.public_internet_gateway.route_table_id == aws_route_table.public.id
    error_message = "The public route table must send 0.0.0.0/0 to the internet gateway."
  }

  assert {
    condition     = length(aws_route_table_association.public) == 3 && alltrue([for az, a in aws_route_table_association.public : a.route_table_id == aws_route_table.public.id && a.subnet_id == aws_subnet.public[az].id])
    error_message = "Every public subnet must be associated with the public route table."
  }

  assert {
    condition     = length(aws_route_table.private) == 3 && alltrue([for az, a in aws_route_table_association.private : a.route_table_id == aws_route_table.private[az].id && a.subnet_id == aws_subnet.private[az].id])
    error_message = "Every private subnet must be associated with the private route table of its own AZ."
  }

  assert {
    condition     = output.public_route_table_ids == [aws_route_table.public.id] && output.private_route_table_ids == [for az in var.azs : aws_route_table.private[az].id]
    error_message = "Route table outputs are wrong."
  }

  assert {
    condition     = output.igw_id == aws_internet_gateway.this.id && aws_internet_gateway.this.vpc_id == aws_vpc.this.id
    error_message = "The internet gateway must be attached to the VPC and exported as igw_id."
  }
}

################################################################################
# NAT gateways
################################################################################

run "nat_gateway_per_az_by_default" {
  command = apply

  assert {
    condition     = length(aws_nat_gateway.this) == 3 && length(aws_eip.nat) == 3 && keys(aws_nat_gateway.this) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    error_message = "With single_nat_gateway = false there must be one NAT gateway and one EIP per AZ."
  }

  assert {
    condition     = alltrue([for az, n in aws_nat_gateway.this : n.subnet_id == aws_subnet.public[az].id && n.allocation_id == aws_eip.nat[az].id])
    error_message = "Each NAT gateway must sit in the public subnet of its AZ with the EIP of its AZ."
  }

  assert {
    condition     = alltrue([for e in aws_eip.nat : e.domain == "vpc"])
    error_message = "NAT EIPs must be VPC EIPs."
  }

  assert {
    condition     = length(aws_route.private_nat_gateway) == 3 && alltrue([for az, r in aws_route.private_nat_gateway : r.nat_gateway_id == aws_nat_gateway.this[az].id && r.route_table_id == aws_route_table.private[az].id && r.destination_cidr_block == "0.0.0.0/0"])
    error_message = "Each private route table must route 0.0.0.0/0 to the NAT gateway of its own AZ."
  }

  assert {
    condition     = output.natgw_ids == [for az in var.azs : aws_nat_gateway.this[az].id] && output.nat_public_ips == [for az in var.azs : aws_eip.nat[az].public_ip]
    error_message = "natgw_ids and nat_public_ips must list one entry per AZ in AZ order."
  }
}

run "single_nat_gateway_in_first_az" {
  command = apply

  variables {
    environment_suffix = "dev"
    single_nat_gateway = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_eip.nat) == 1 && keys(aws_nat_gateway.this) == ["us-east-1a"]
    error_message = "With single_nat_gateway = true there must be exactly one NAT gateway and EIP, in the first AZ."
  }

  assert {
    condition     = aws_nat_gateway.this["us-east-1a"].subnet_id == aws_subnet.public["us-east-1a"].id
    error_message = "The shared NAT gateway must sit in the first public subnet."
  }

  assert {
    condition     = length(aws_route_table.private) == 3 && length(aws_route.private_nat_gateway) == 3 && alltrue([for r in aws_route.private_nat_gateway : r.nat_gateway_id == aws_nat_gateway.this["us-east-1a"].id])
    error_message = "All three private route tables must route to the shared NAT gateway."
  }

  assert {
    condition     = length(output.natgw_ids) == 1 && length(output.nat_public_ips) == 1
    error_message = "natgw_ids and nat_public_ips must hold one entry with a single NAT gateway."
  }

  assert {
    condition     = aws_nat_gateway.this["us-east-1a"].tags["Name"] == "nat-us-east-1a-dev" && aws_eip.nat["us-east-1a"].tags["Name"] == "eip-nat-us-east-1a-dev"
    error_message = "NAT names must carry the AZ and the suffix."
  }
}

################################################################################
# Names and tags
################################################################################

run "names_carry_suffix" {
  command = apply

  variables {
    environment_suffix = "prod"
  }

  assert {
    condition     = aws_vpc.this.tags["Name"] == "vpc-prod" && aws_internet_gateway.this.tags["Name"] == "igw-prod"
    error_message = "VPC and internet gateway must be named vpc-<suffix> and igw-<suffix>."
  }

  assert {
    condition     = aws_subnet.public["us-east-1b"].tags["Name"] == "subnet-public-us-east-1b-prod" && aws_subnet.private["us-east-1c"].tags["Name"] == "subnet-private-us-east-1c-prod"
    error_message = "Subnets must be named subnet-<tier>-<az>-<suffix>."
  }

  assert {
    condition     = aws_route_table.public.tags["Name"] == "rtb-public-prod" && aws_route_table.private["us-east-1a"].tags["Name"] == "rtb-private-us-east-1a-prod"
    error_message = "Route tables must be named rtb-public-<suffix> and rtb-private-<az>-<suffix>."
  }

  assert {
    condition     = aws_nat_gateway.this["us-east-1c"].tags["Name"] == "nat-us-east-1c-prod" && aws_eip.nat["us-east-1c"].tags["Name"] == "eip-nat-us-east-1c-prod"
    error_message = "NAT gateways and EIPs must be named nat-<az>-<suffix> and eip-nat-<az>-<suffix>."
  }

  assert {
    condition     = aws_default_security_group.this[0].tags["Name"] == "sg-default-prod" && aws_iam_role.flow_log[0].name == "role-vpc-flow-logs-prod" && aws_cloudwatch_log_group.flow_log[0].name == "/aws/vpc-flow-logs/vpc-prod"
    error_message = "Default SG, flow log role and flow log group names must carry the suffix."
  }

  assert {
    condition = alltrue([
      for t in concat(
        [aws_vpc.this.tags, aws_internet_gateway.this.tags, aws_route_table.public.tags, aws_default_security_group.this[0].tags],
        [aws_cloudwatch_log_group.flow_log[0].tags, aws_iam_role.flow_log[0].tags, aws_flow_log.this[0].tags],
        [for s in aws_subnet.public : s.tags], [for s in aws_subnet.private : s.tags],
        [for r in aws_route_table.private : r.tags], [for n in aws_nat_gateway.this : n.tags], [for e in aws_eip.nat : e.tags],
      ) : t["Project"] == "trading" && t["Environment"] == "test" && endswith(t["Name"], "prod")
    ])
    error_message = "Every taggable resource must carry the caller's tags and a Name ending in the suffix."
  }
}

################################################################################
# Default security group
################################################################################

run "default_security_group_denies_all" {
  command = apply

  assert {
    condition     = length(aws_default_security_group.this) == 1 && aws_default_security_group.this[0].vpc_id == aws_vpc.this.id
    error_message = "The module must adopt the VPC's default security group."
  }

  assert {
    condition     = length(aws_default_security_group.this[0].ingress) == 0 && length(aws_default_security_group.this[0].egress) == 0
    error_message = "The default security group must have no rules."
  }

  assert {
    condition     = output.default_security_group_id == aws_default_security_group.this[0].id
    error_message = "default_security_group_id must be the managed default security group."
  }
}

run "default_security_group_left_alone" {
  command = plan

  variables {
    manage_default_security_group = false
  }

  assert {
    condition     = length(aws_default_security_group.this) == 0
    error_message = "manage_default_security_group = false must not adopt the default security group."
  }
}

################################################################################
# Flow log
################################################################################

run "flow_log_defaults" {
  command = apply

  assert {
    condition     = aws_cloudwatch_log_group.flow_log[0].name == "/aws/vpc-flow-logs/vpc-test" && aws_cloudwatch_log_group.flow_log[0].retention_in_days == 30
    error_message = "The flow log group must be /aws/vpc-flow-logs/vpc-<suffix> with 30 days retention by default."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_log[0].kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "The flow log group must be encrypted with the KMS key passed in."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_log[0].skip_destroy == false
    error_message = "The flow log group must be destroyable."
  }

  assert {
    condition = (
      aws_flow_log.this[0].vpc_id == aws_vpc.this.id &&
      aws_flow_log.this[0].traffic_type == "ALL" &&
      aws_flow_log.this[0].log_destination_type == "cloud-watch-logs" &&
      aws_flow_log.this[0].log_destination == aws_cloudwatch_log_group.flow_log[0].arn &&
      aws_flow_log.this[0].iam_role_arn == aws_iam_role.flow_log[0].arn &&
      aws_flow_log.this[0].max_aggregation_interval == 600
    )
    error_message = "The flow log must capture ALL traffic of the VPC into the module's log group through the module's role."
  }

  assert {
    condition     = aws_iam_role.flow_log[0].name == "role-vpc-flow-logs-test"
    error_message = "The flow log role must be named role-vpc-flow-logs-<suffix>."
  }

  assert {
    condition = jsondecode(aws_iam_role.flow_log[0].assume_role_policy).Statement == [{
      Sid       = "AllowVpcFlowLogsAssumeRole"
      Effect    = "Allow"
      Principal = { Service = "vpc-flow-logs.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }]
    error_message = "Only vpc-flow-logs.amazonaws.com of this account may assume the flow log role."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.flow_log[0].policy).Statement == [{
      Sid      = "WriteFlowLogStreams"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      Resource = ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc-flow-logs/vpc-test:*"]
    }]
    error_message = "The flow log policy must allow only the log-stream actions on the module's log group."
  }

  assert {
    condition     = aws_iam_role_policy.flow_log[0].role == aws_iam_role.flow_log[0].id
    error_message = "The policy must be attached inline to the flow log role."
  }

  assert {
    condition = (
      output.flow_log_id == aws_flow_log.this[0].id &&
      output.flow_log_cloudwatch_log_group_name == "/aws/vpc-flow-logs/vpc-test" &&
      output.flow_log_cloudwatch_log_group_arn == aws_cloudwatch_log_group.flow_log[0].arn &&
      output.flow_log_cloudwatch_iam_role_arn == aws_iam_role.flow_log[0].arn
    )
    error_message = "Flow log outputs are wrong."
  }
}

run "flow_log_settings_are_configurable" {
  command = plan

  variables {
    flow_log_retention_in_days        = 90
    flow_log_traffic_type             = "REJECT"
    flow_log_max_aggregation_interval = 60
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_log[0].retention_in_days == 90 && aws_flow_log.this[0].traffic_type == "REJECT" && aws_flow_log.this[0].max_aggregation_interval == 60
    error_message = "Retention, traffic type and aggregation interval must follow the inputs."
  }
}

run "flow_log_disabled" {
  command = apply

  variables {
    enable_flow_log = false
  }

  assert {
    condition     = length(aws_flow_log.this) == 0 && length(aws_cloudwatch_log_group.flow_log) == 0 && length(aws_iam_role.flow_log) == 0 && length(aws_iam_role_policy.flow_log) == 0
    error_message = "enable_flow_log = false must create no flow log, log group, role or policy."
  }

  assert {
    condition     = output.flow_log_id == null && output.flow_log_cloudwatch_log_group_name == null && output.flow_log_cloudwatch_log_group_arn == null && output.flow_log_cloudwatch_iam_role_arn == null
    error_message = "Flow log outputs must be null when the flow log is disabled."
  }
}

################################################################################
# Removing an AZ
################################################################################

run "three_azs" {
  command = apply
}

run "removing_an_az_keeps_the_others" {
  command = apply

  variables {
    azs             = ["us-east-1a", "us-east-1c"]
    public_subnets  = ["10.20.0.0/24", "10.20.2.0/24"]
    private_subnets = ["10.20.10.0/24", "10.20.12.0/24"]
  }

  assert {
    condition     = output.public_subnets == [run.three_azs.public_subnets[0], run.three_azs.public_subnets[2]]
    error_message = "Removing us-east-1b must keep the public subnets of us-east-1a and us-east-1c unchanged."
  }

  assert {
    condition     = output.private_subnets == [run.three_azs.private_subnets[0], run.three_azs.private_subnets[2]]
    error_message = "Removing us-east-1b must keep the private subnets of us-east-1a and us-east-1c unchanged."
  }

  assert {
    condition     = output.natgw_ids == [run.three_azs.natgw_ids[0], run.three_azs.natgw_ids[2]] && output.private_route_table_ids == [run.three_azs.private_route_table_ids[0], run.three_azs.private_route_table_ids[2]]
    error_message = "Removing us-east-1b must keep the NAT gateways and route tables of the other AZs unchanged."
  }
}
