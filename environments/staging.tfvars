# Staging: production's shape at a fraction of its cost. Alarms on (to a topic with no
# subscriber unless you add alarm_email), tracing on, on-demand tables, no reserved or
# provisioned concurrency, AWS-owned keys.
#   terraform apply -var-file=environments/staging.tfvars

environment = "staging"

cors_allowed_origins = ["https://staging.app.example.com"]
log_retention_days   = 30
tracing_enabled      = true

alarms_enabled     = true
dashboard_enabled  = true
parameters_enabled = true

billing_mode                 = "PAY_PER_REQUEST"
dynamodb_deletion_protection = false
