# billing_mode = "PROVISIONED": Application Auto Scaling keeps every table's and index's read and
# write capacity between the provisioned_capacity bounds, tracking the utilisation target.

locals {
  # "table/<name>" or "table/<name>/index/<index>" -> the scalable dimension's prefix.
  scalable_resources = merge(
    { for key, table in aws_dynamodb_table.tables : "table/${table.name}" => "dynamodb:table" },
    {
      for key, index in local.table_indexes :
      "table/${aws_dynamodb_table.tables[index.table].name}/index/${index.index}" => "dynamodb:index"
    },
  )
  scalable_targets = local.provisioned ? merge([
    for resource_id, dimension in local.scalable_resources : {
      for kind in ["Read", "Write"] : "${resource_id}:${kind}" => {
        resource_id = resource_id
        dimension   = "${dimension}:${kind}CapacityUnits"
        kind        = kind
        min         = kind == "Read" ? var.provisioned_capacity.read_min : var.provisioned_capacity.write_min
        max         = kind == "Read" ? var.provisioned_capacity.read_max : var.provisioned_capacity.write_max
      }
    }
  ]...) : {}
}

resource "aws_appautoscaling_target" "dynamodb" {
  for_each = local.scalable_targets

  service_namespace  = "dynamodb"
  resource_id        = each.value.resource_id
  scalable_dimension = each.value.dimension
  min_capacity       = each.value.min
  max_capacity       = each.value.max

  # Registered only once the tables (and their indexes) exist.
  depends_on = [aws_dynamodb_table.tables]
}

resource "aws_appautoscaling_policy" "dynamodb" {
  for_each = local.scalable_targets

  name               = "${each.value.resource_id}:${lower(each.value.kind)}-utilisation"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.dynamodb[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.dynamodb[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.dynamodb[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.provisioned_capacity.target_utilization_percent

    predefined_metric_specification {
      predefined_metric_type = "DynamoDB${each.value.kind}CapacityUtilization"
    }
  }
}
