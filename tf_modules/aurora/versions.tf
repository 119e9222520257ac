terraform {
  # plantimestamp() (final snapshot name) needs Terraform 1.5; the tests/ need 1.7 (mock_provider).
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.32, < 7.0"
    }
  }
}
