# Restoring from a snapshot: the snapshot is used when the cluster is created, and later changes to the
# creation-only inputs never replace the cluster (and its data). Runs share one state, in order.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  environment_suffix  = "prod"
  kms_key_arn         = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  vpc_id              = "vpc-0123456789abcdef0"
  subnet_ids          = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  availability_zones  = ["us-east-1a", "us-east-1b"]
  skip_final_snapshot = false
}

run "restore_from_snapshot_on_create" {
  command = apply

  variables {
    snapshot_identifier = "aurora-final-prod-20250101120000"
  }

  assert {
    condition     = aws_rds_cluster.this.snapshot_identifier == "aurora-final-prod-20250101120000"
    error_message = "snapshot_identifier must reach the cluster so it is restored from that snapshot."
  }

  assert {
    condition     = aws_rds_cluster.this.kms_key_id == var.kms_key_arn && aws_rds_cluster.this.storage_encrypted == true
    error_message = "A restored cluster must still be encrypted with the KMS key."
  }

  assert {
    condition     = aws_rds_cluster.this.deletion_protection == false && aws_rds_cluster.this.skip_final_snapshot == false
    error_message = "A restored cluster must stay destroyable, with its own final snapshot."
  }
}

run "later_snapshot_and_creation_inputs_are_ignored" {
  command = plan

  variables {
    snapshot_identifier = "aurora-final-prod-20260101120000"
    master_username     = "owner"
    database_name       = "other"
  }

  assert {
    condition     = aws_rds_cluster.this.snapshot_identifier == "aurora-final-prod-20250101120000"
    error_message = "A new snapshot_identifier after creation must be ignored (it would force a new cluster)."
  }

  assert {
    condition     = aws_rds_cluster.this.master_username == "admin" && aws_rds_cluster.this.database_name == "trading"
    error_message = "master_username and database_name are fixed at creation and must not replace the cluster."
  }
}

run "removing_the_snapshot_keeps_the_cluster" {
  command = plan

  variables {
    snapshot_identifier = null
  }

  assert {
    condition     = aws_rds_cluster.this.snapshot_identifier == "aurora-final-prod-20250101120000"
    error_message = "Dropping snapshot_identifier later must leave the restored cluster alone."
  }
}
