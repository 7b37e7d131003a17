"""The ``paratopic`` commands, one module per group: :mod:`.indexing` (index, run), :mod:`.searching`
(search, similar, info), :mod:`.topics` (topics, report), :mod:`.stories`, :mod:`.serving` (serve); the
options, messages and error guard they share are in :mod:`.common`. Each imports the library inside the
command, so that ``paratopic --help`` stays fast."""
