"""Array kernels: the math of the toolkit, on NumPy or CuPy arrays, apart from any frame.

A kernel takes arrays (values sorted by series, with segment boundaries) and returns
arrays; it never sees a pandas or cuDF frame, so a machine with CuPy but no cuDF can test
every kernel on the device, and a Dask partition calls the same kernel as a whole frame.
Frame functions in the verb packages validate, lay out the panel through
:mod:`toolkit.panel`, call a kernel and put the result back.

* :mod:`~toolkit.kernels.segments` -- per-group sums, sorts, quantiles, ranks, z-scores;
* :mod:`~toolkit.kernels.windows` -- lags, rolling, expanding and EWM statistics per series
  (array-API engine, and the public ``*_kernel`` functions choosing an engine);
* :mod:`~toolkit.kernels.compiled` -- the same window statistics as numba loops for the CPU;
* :mod:`~toolkit.kernels.days` -- day numbers of timestamps and per-row reads of per-day tables;
* :mod:`~toolkit.kernels.fill` -- forward, backward, linear and given-value fills of gaps per segment;
* :mod:`~toolkit.kernels.lstsq` -- blocked QR / TSQR least squares;
* :mod:`~toolkit.kernels.grouped` -- exact per-group sums.
"""
