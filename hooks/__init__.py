"""Generation hooks; a package so that tests can import and unit-test their functions."""
