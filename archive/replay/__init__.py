"""Replay: what archivists open.  ``wacz`` packages WARCs, their CDXJ index and the corpus
pages for ReplayWeb.page; ``pywb`` serves a store's WARCs through pywb in its own virtualenv.

The last stage of the flow: it reads the WARCs (``archive.warc``) and the corpus
(``archive.corpus``) and never writes either.
"""
