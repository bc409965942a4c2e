# Optional custom domain (custom_domain_name + custom_domain_certificate_arn): a regional API
# Gateway domain mapped to the $default stage, and with route53_zone_id the alias record.

locals {
  custom_domain = var.custom_domain_name != null
  api_url       = local.custom_domain ? "https://${var.custom_domain_name}" : trimsuffix(aws_apigatewayv2_stage.default.invoke_url, "/")
}

resource "aws_apigatewayv2_domain_name" "api" {
  count = local.custom_domain ? 1 : 0

  domain_name = var.custom_domain_name

  domain_name_configuration {
    certificate_arn = var.custom_domain_certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }

  lifecycle {
    precondition {
      condition     = var.custom_domain_certificate_arn != null
      error_message = "custom_domain_name needs custom_domain_certificate_arn: an issued ACM certificate for it in this region."
    }
  }
}

resource "aws_apigatewayv2_api_mapping" "api" {
  count = local.custom_domain ? 1 : 0

  api_id      = aws_apigatewayv2_api.users.id
  domain_name = aws_apigatewayv2_domain_name.api[0].id
  stage       = aws_apigatewayv2_stage.default.id
}

resource "aws_route53_record" "api" {
  count = local.custom_domain && var.route53_zone_id != null ? 1 : 0

  zone_id = var.route53_zone_id
  name    = var.custom_domain_name
  type    = "A"

  alias {
    name                   = aws_apigatewayv2_domain_name.api[0].domain_name_configuration[0].target_domain_name
    zone_id                = aws_apigatewayv2_domain_name.api[0].domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = false
  }
}
