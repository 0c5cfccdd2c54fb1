"""opencode-alicloud: a private OpenCode workspace on Alibaba Cloud (CDK for Terraform)."""
