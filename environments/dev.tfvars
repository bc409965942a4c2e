# A developer's stack: cheap and simple. Every operations switch stays at its default (no
# alarms, on-demand tables, unreserved concurrency, AWS-owned keys) except the free ones.
#   terraform apply -var-file=environments/dev.tfvars

environment = "dev"

cors_allowed_origins = ["*"]
log_retention_days   = 14
log_level            = "DEBUG"

dashboard_enabled  = true # free for the first 3 dashboards of an account
parameters_enabled = true # standard parameters are free

billing_mode                 = "PAY_PER_REQUEST"
dynamodb_deletion_protection = false
