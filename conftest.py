pytest_plugins = ["acceptance.plugin"]
