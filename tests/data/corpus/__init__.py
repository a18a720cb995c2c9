"""The ingest test corpus: register files in every layout, format and spelling provinces send.

Nothing here is a hand-placed binary: :mod:`corpus.writers` writes a workbook model
(:class:`corpus.writers.Book`) as ``.xlsx``, ``.xlsm``, ``.xls`` (BIFF8, xlwt), ``.ods`` (ODF
written by hand) or ``.csv`` (UTF-8, UTF-8 with BOM, Windows-1258; comma or semicolon), and
:mod:`corpus.cases` lists the cases: a book, a file name, and the records ``parse_file`` must
return. ``tests/test_ingest_corpus.py`` builds each file into a temporary folder at test time.
"""
