"""Activities: the side effects of the workflows, one each."""
