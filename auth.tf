# Who may call the API (var.authorization): nobody is asked (NONE), a bearer token from an OIDC
# issuer checked by API Gateway's JWT authorizer (JWT), or a SigV4 signature checked against the
# caller's IAM policy (AWS_IAM). The gateway authenticates; the function decides what an
# authenticated caller may do (AUTHORIZATION, ADMIN_SCOPE, PROFILE_READS in its environment).

locals {
  # Open whatever var.authorization says: every operation on these paths of openapi.json, the
  # greeting and the API's own description. The one list of public paths on the gateway's side
  # (the function's router marks the same routes public for its OpenAPI document; the tests
  # compare the two); it does not depend on how the document marks them.
  public_paths      = ["/hello", "/openapi.json"]
  public_route_keys = [for key, route in local.routes : key if contains(local.public_paths, route.path)]

  jwt_issuer = (
    var.create_user_pool ? "https://${one(aws_cognito_user_pool.users[*].endpoint)}" : var.jwt_issuer
  )
  jwt_audience = (
    var.create_user_pool
    ? [one(aws_cognito_user_pool_client.users[*].id), one(aws_cognito_user_pool_client.admin[*].id)]
    : var.jwt_audience
  )

  # "users/admin" -> resource server "users", scope "admin" (create_user_pool only).
  admin_resource_server = split("/", var.admin_scope)[0]
  admin_scope_name      = split("/", var.admin_scope)[1]
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count = var.authorization == "JWT" ? 1 : 0

  api_id           = aws_apigatewayv2_api.users.id
  name             = "${local.prefix}-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = local.jwt_issuer
    audience = local.jwt_audience
  }

  lifecycle {
    precondition {
      condition     = var.create_user_pool || (var.jwt_issuer != null && length(var.jwt_audience) > 0)
      error_message = "authorization = \"JWT\" needs jwt_issuer and jwt_audience (your OIDC provider's issuer URL and client ids), or create_user_pool = true."
    }
    precondition {
      condition     = !var.create_user_pool || (var.jwt_issuer == null && length(var.jwt_audience) == 0)
      error_message = "create_user_pool = true makes the Cognito pool the issuer and its clients the audience: leave jwt_issuer and jwt_audience unset."
    }
  }
}

# --- Cognito (create_user_pool = true) ----------------------------------------------------------
# Users sign in with the "users" client (sub = their user_id); back-office tools get admin_scope
# with the client-credentials "admin" client at the pool's token endpoint. The data sources are
# named for this purpose (and counted) so they never collide with an unconditional "current".

data "aws_caller_identity" "cognito" {
  count = var.create_user_pool ? 1 : 0
}

data "aws_region" "cognito" {
  count = var.create_user_pool ? 1 : 0
}

resource "aws_cognito_user_pool" "users" {
  count = var.create_user_pool ? 1 : 0

  name                     = local.prefix
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = var.dynamodb_deletion_protection ? "ACTIVE" : "INACTIVE"

  password_policy {
    minimum_length    = 12
    require_lowercase = true
    require_uppercase = true
    require_numbers   = true
    require_symbols   = false
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  lifecycle {
    precondition {
      condition     = var.authorization == "JWT"
      error_message = "create_user_pool = true only makes sense with authorization = \"JWT\" (the pool would issue tokens nobody checks)."
    }
  }
}

resource "aws_cognito_user_pool_client" "users" {
  count = var.create_user_pool ? 1 : 0

  name                          = "${local.prefix}-users"
  user_pool_id                  = aws_cognito_user_pool.users[0].id
  generate_secret               = false
  explicit_auth_flows           = ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors = "ENABLED"
  access_token_validity         = 60
  id_token_validity             = 60

  token_validity_units {
    access_token = "minutes"
    id_token     = "minutes"
  }
}

resource "aws_cognito_resource_server" "users" {
  count = var.create_user_pool ? 1 : 0

  identifier   = local.admin_resource_server
  name         = "${local.prefix}-api"
  user_pool_id = aws_cognito_user_pool.users[0].id

  scope {
    scope_name        = local.admin_scope_name
    scope_description = "Every operation on every user, including listing and email lookup"
  }
}

# The OAuth token endpoint lives on a domain; the prefix must be unique in the region.
resource "aws_cognito_user_pool_domain" "users" {
  count = var.create_user_pool ? 1 : 0

  domain       = "${local.prefix}-${data.aws_caller_identity.cognito[0].account_id}"
  user_pool_id = aws_cognito_user_pool.users[0].id
}

resource "aws_cognito_user_pool_client" "admin" {
  count = var.create_user_pool ? 1 : 0

  name                                 = "${local.prefix}-admin"
  user_pool_id                         = aws_cognito_user_pool.users[0].id
  generate_secret                      = true
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["client_credentials"]
  allowed_oauth_scopes                 = ["${aws_cognito_resource_server.users[0].identifier}/${local.admin_scope_name}"]
  supported_identity_providers         = ["COGNITO"]
  access_token_validity                = 60

  token_validity_units {
    access_token = "minutes"
  }
}
