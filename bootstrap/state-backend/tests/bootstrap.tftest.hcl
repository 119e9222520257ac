# The bootstrap against a mocked AWS provider (offline): what the bucket, key and lock table promise.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      key_id = "11111111-2222-3333-4444-555555555555"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      id  = "trading-tfstate-123456789012-us-east-1"
      arn = "arn:aws:s3:::trading-tfstate-123456789012-us-east-1"
    }
  }
}

run "defaults_make_a_private_versioned_kms_encrypted_tls_only_bucket" {
  command = apply

  assert {
    condition     = aws_s3_bucket.state.bucket == "trading-tfstate-123456789012-us-east-1" && !aws_s3_bucket.state.force_destroy
    error_message = "The bucket must default to <name>-<account>-<region> and refuse to be destroyed while it holds states."
  }

  assert {
    condition     = aws_s3_bucket_versioning.state.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be enabled so every earlier state can be recovered."
  }

  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.state.arn &&
      one(aws_s3_bucket_server_side_encryption_configuration.state.rule).bucket_key_enabled
    )
    error_message = "Objects must default to SSE-KMS with the state key (and an S3 bucket key)."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.state.block_public_acls &&
      aws_s3_bucket_public_access_block.state.block_public_policy &&
      aws_s3_bucket_public_access_block.state.ignore_public_acls &&
      aws_s3_bucket_public_access_block.state.restrict_public_buckets
    )
    error_message = "All four public access blocks must be on."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.state.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition = (
      length(aws_s3_bucket_policy.tls_only) == 1 &&
      jsondecode(aws_s3_bucket_policy.tls_only[0].policy).Statement[0].Effect == "Deny" &&
      jsondecode(aws_s3_bucket_policy.tls_only[0].policy).Statement[0].Action == "s3:*" &&
      jsondecode(aws_s3_bucket_policy.tls_only[0].policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false" &&
      contains(jsondecode(aws_s3_bucket_policy.tls_only[0].policy).Statement[0].Resource, "arn:aws:s3:::trading-tfstate-123456789012-us-east-1/*")
    )
    error_message = "The bucket policy must deny every request to the bucket and its objects made without TLS."
  }

  assert {
    condition = (
      aws_s3_bucket_lifecycle_configuration.state[0].rule[0].noncurrent_version_expiration[0].noncurrent_days == 90 &&
      aws_s3_bucket_lifecycle_configuration.state[0].rule[0].status == "Enabled"
    )
    error_message = "Superseded state versions must expire after 90 days by default."
  }

  assert {
    condition     = aws_kms_key.state.enable_key_rotation && aws_kms_key.state.deletion_window_in_days == 30 && aws_kms_alias.state.name == "alias/trading-tfstate"
    error_message = "The state key must rotate, keep a 30-day deletion window and carry alias/trading-tfstate."
  }

  assert {
    condition     = length(aws_dynamodb_table.lock) == 0 && output.lock_table_name == null
    error_message = "No lock table unless asked for: Terraform >= 1.10 locks with a lock file."
  }

  assert {
    condition = output.backend_env == {
      TF_BACKEND          = "s3"
      TF_STATE_BUCKET     = "trading-tfstate-123456789012-us-east-1"
      TF_STATE_REGION     = "us-east-1"
      TF_STATE_KMS_KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      TF_STATE_LOCK       = "lockfile"
    }
    error_message = "backend_env must hold exactly the settings the stacks read."
  }
}

run "lock_table_for_terraform_1_5_to_1_9" {
  command = apply

  variables {
    create_lock_table = true
  }

  assert {
    condition = (
      aws_dynamodb_table.lock[0].name == "trading-tfstate-locks" &&
      aws_dynamodb_table.lock[0].hash_key == "LockID" &&
      aws_dynamodb_table.lock[0].billing_mode == "PAY_PER_REQUEST" &&
      !aws_dynamodb_table.lock[0].deletion_protection_enabled
    )
    error_message = "The lock table must be keyed by LockID (the s3 backend's schema), on demand and destroyable."
  }

  assert {
    condition = (
      aws_dynamodb_table.lock[0].server_side_encryption[0].enabled &&
      aws_dynamodb_table.lock[0].server_side_encryption[0].kms_key_arn == aws_kms_key.state.arn &&
      aws_dynamodb_table.lock[0].point_in_time_recovery[0].enabled
    )
    error_message = "The lock table must be encrypted with the state key and have point-in-time recovery."
  }

  assert {
    condition     = output.backend_env.TF_STATE_LOCK == "dynamodb" && output.backend_env.TF_STATE_LOCK_TABLE == "trading-tfstate-locks"
    error_message = "With a lock table, backend_env must select the DynamoDB lock."
  }
}

run "emulator_switches_drop_the_policy_and_the_lifecycle_rule" {
  command = plan

  variables {
    bucket_name                        = "state.example-bucket"
    enforce_tls_only                   = false
    noncurrent_version_expiration_days = null
    force_destroy                      = true
  }

  assert {
    condition     = length(aws_s3_bucket_policy.tls_only) == 0 && length(aws_s3_bucket_lifecycle_configuration.state) == 0
    error_message = "enforce_tls_only = false and a null retention must drop the policy and the lifecycle rule."
  }

  assert {
    condition     = aws_s3_bucket.state.bucket == "state.example-bucket" && aws_s3_bucket.state.force_destroy
    error_message = "An explicit bucket name and force_destroy must be used as given."
  }
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    bucket_name                        = "Not_A_Bucket"
    lock_table_name                    = "x"
    kms_deletion_window_days           = 3
    noncurrent_version_expiration_days = 0.5
  }

  expect_failures = [
    var.bucket_name,
    var.lock_table_name,
    var.kms_deletion_window_days,
    var.noncurrent_version_expiration_days,
  ]
}
