"""N:M sparse-training accelerator model (SAT/BDWP on an FPGA).

:func:`hw.nm.fpga.estimate` is the ``nm_fpga`` model behind :func:`hw.estimate`;
:mod:`hw.nm.experiments` holds sweep targets and the SAT validation. Importing this package
compiles nothing.
"""
