# Production. Replace the example.com values with your own before applying.
#   terraform apply -var-file=environments/prod.tfvars
# `terraform destroy` is refused while dynamodb_deletion_protection is true: set it to false
# and apply first (the tables' data goes with them).

environment = "prod"

# Only the front end's origin may call the API from a browser.
cors_allowed_origins = ["https://app.example.com"]
log_retention_days   = 365
tracing_enabled      = true

# Callers present a JWT from this issuer, for this audience (the local tooling substitutes its
# own issuer).
authorization = "JWT"
jwt_issuer    = "https://example.auth0.com/"
jwt_audience  = ["https://api.example.com"]

dynamodb_deletion_protection = true

alarms_enabled     = true
alarm_email        = "oncall@example.com" # or alarm_topic_arn = the team's paging topic
dashboard_enabled  = true
parameters_enabled = true

# Steady production traffic: provisioned capacity that auto scaling keeps at 70 % utilisation,
# cheaper than on-demand once the tables are busy; PAY_PER_REQUEST suits spiky traffic better.
billing_mode = "PROVISIONED"
provisioned_capacity = {
  read_min                   = 5
  read_max                   = 100
  write_min                  = 5
  write_max                  = 100
  target_utilization_percent = 70
}

# A ceiling that protects the account's other functions (and DynamoDB) from a runaway, and two
# warm environments on the `live` alias so the first requests after a deploy skip the cold start.
# (SnapStart is the alternative to provisioned concurrency; Lambda does not combine them.)
lambda_reserved_concurrency    = 100
lambda_provisioned_concurrency = 2

kms_key_enabled = true

# A new version gets 10 % of the requests for 5 minutes, then all of them; the error and latency
# alarms stop it and shift back (codedeploy.tf). The pipeline starts the shift after the apply.
deployment_strategy = {
  type             = "canary"
  percentage       = 10
  interval_minutes = 5
}

# Precompiled bytecode: no module is compiled at a cold start (the first write's cold start drops
# from about 1.13x to 0.78x of the floor, see README "Performance"). The machine that plans needs
# the runtime's own CPython (3.13 for python3.13): the pipeline installs it.
lambda_bytecode = true

# A custom domain: an issued ACM certificate for it in this region, and the hosted zone.
# custom_domain_name            = "api.example.com"
# custom_domain_certificate_arn = "arn:aws:acm:us-east-1:111122223333:certificate/..."
# route53_zone_id               = "Z0123456789ABCDEFGHIJ"
