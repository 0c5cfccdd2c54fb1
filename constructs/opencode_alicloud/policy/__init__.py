"""Policy as code: our own checkov checks (checks/) plus checkov's built-in ones, run on
synthesized cdk.tf.json, with suppressions that must carry a written reason."""
