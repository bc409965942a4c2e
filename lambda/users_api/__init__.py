"""The users API: a payload-2.0 Lambda handler, its routes, models and DynamoDB store."""
