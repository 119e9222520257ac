"""One module per AWS concern: network (VPC), database (Aurora), api, keys (KMS), storage (S3), logs, dns, the Lambda
functions (lambda_functions, and lambda_package for the ZIP they ship in) and operations (alarms, dashboard).
``modules`` wires tf_modules/ into a stack and gives each HCL module its typed face."""
