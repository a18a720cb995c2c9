"""Reference data: provinces in both schemes, product groups, header aliases. Data, not code."""
