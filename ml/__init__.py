"""Models trained on the feature marts; segments and scores written back to the warehouse."""
