provider "aws" {
  region = var.region
}

# Apply once per account and region (for example from a shared "account" stack), not once per environment.
module "account_settings" {
  source = "../../"

  environment_suffix = var.environment_suffix

  tags = {
    Project     = "trading-platform"
    Environment = var.environment_suffix
  }
}
