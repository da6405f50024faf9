"""Context joined to each alert's `objects` row: Sherlock classifications, TNS, watchlists, areas,
annotations. Pure: the worker feeds these modules what it reads from Kafka."""
