"""The local DynamoDB engines (moto, DynamoDB Local): choosing, installing, starting and stopping them."""
