# Destroyability per environment: dev/staging skip the final snapshot, prod keeps one with a lifetime-unique name.
# `command = apply` runs against the mocked provider (nothing leaves this machine) so that the recorded creation
# time of terraform_data is known and the final snapshot name can be checked exactly.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  vpc_id             = "vpc-0123456789abcdef0"
  subnet_ids         = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  availability_zones = ["us-east-1a", "us-east-1b"]
}

run "dev_skips_final_snapshot" {
  command = apply

  variables {
    environment_suffix  = "dev"
    skip_final_snapshot = true
  }

  assert {
    condition     = aws_rds_cluster.this.skip_final_snapshot == true && aws_rds_cluster.this.final_snapshot_identifier == null
    error_message = "dev must destroy without a final snapshot and without a snapshot name."
  }

  assert {
    condition     = output.final_snapshot_identifier == null
    error_message = "final_snapshot_identifier must be null when the snapshot is skipped."
  }

  assert {
    condition     = aws_rds_cluster.this.deletion_protection == false
    error_message = "The cluster must never be deletion-protected."
  }
}

run "staging_skips_final_snapshot" {
  command = apply

  variables {
    environment_suffix  = "staging"
    skip_final_snapshot = true
  }

  assert {
    condition     = aws_rds_cluster.this.final_snapshot_identifier == null && output.final_snapshot_identifier == null
    error_message = "staging must destroy without a final snapshot."
  }

  assert {
    condition     = aws_rds_cluster.this.deletion_protection == false && aws_rds_cluster.this.cluster_identifier == "aurora-staging"
    error_message = "aurora-staging must never be deletion-protected."
  }
}

run "prod_keeps_a_uniquely_named_final_snapshot" {
  command = apply

  variables {
    environment_suffix  = "prod"
    skip_final_snapshot = false
  }

  assert {
    condition     = aws_rds_cluster.this.skip_final_snapshot == false && aws_rds_cluster.this.deletion_protection == false
    error_message = "prod must keep a final snapshot and still be destroyable."
  }

  assert {
    condition     = can(regex("^aurora-final-prod-[0-9]{14}$", aws_rds_cluster.this.final_snapshot_identifier))
    error_message = "The final snapshot must be named aurora-final-prod-<YYYYMMDDhhmmss>."
  }

  assert {
    condition     = output.final_snapshot_identifier == aws_rds_cluster.this.final_snapshot_identifier
    error_message = "The output must report the name the cluster will use."
  }

  assert {
    condition     = output.final_snapshot_identifier == "aurora-final-prod-${formatdate("YYYYMMDDhhmmss", terraform_data.cluster_created_at.output)}"
    error_message = "The snapshot name must carry the recorded creation time of the cluster."
  }
}

run "prod_snapshot_name_is_stable_across_plans" {
  command = apply

  variables {
    environment_suffix  = "prod"
    skip_final_snapshot = false
  }

  assert {
    condition     = output.final_snapshot_identifier == run.prod_keeps_a_uniquely_named_final_snapshot.final_snapshot_identifier
    error_message = "A later apply must keep the snapshot name recorded at creation (ignore_changes on the timestamp)."
  }
}

run "new_key_starts_a_new_lifetime" {
  command = apply

  variables {
    environment_suffix  = "prod"
    skip_final_snapshot = false
    kms_key_arn         = "arn:aws:kms:us-east-1:123456789012:key/99999999-2222-3333-4444-555555555555"
  }

  # kms_key_id forces a new cluster, so the replacement needs a snapshot name of its own; the timestamp has
  # one-second resolution, so only the shape is checked here (the value changes unless the runs share a second).
  assert {
    condition     = can(regex("^aurora-final-prod-[0-9]{14}$", output.final_snapshot_identifier))
    error_message = "A replaced cluster must still get a well-formed final snapshot name."
  }

  assert {
    condition     = terraform_data.cluster_created_at.triggers_replace.kms_key_arn == var.kms_key_arn
    error_message = "The creation timestamp must be tied to the key, so a new key (new cluster) records a new time."
  }
}
