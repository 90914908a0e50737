"""Great Expectations suites as code, and the gate that runs them between layers."""
