pytest_plugins = ["acceptance.harness.plugin"]
