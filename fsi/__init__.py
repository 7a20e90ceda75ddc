"""The national platform interface: the JSON envelope hospital and pharmacy systems already speak
(one service URL, each message naming its transaction by ``infno``), over this project's services.

The envelope (``fsi.envelope``) checks and logs each message and answers it; each transaction
(``fsi.transactions``) is a plain function registered in ``fsi.registry`` that makes one call into
the domain.
"""
