"""The instructors' grading tooling: releasing, autograding in a sandbox, the gradebook, reports.

Students never import this package (the released notebooks import only ``course``'s helpers).

* ``pipeline`` -- the main job (``make release``): release, stage the example submissions, grade, report;
* ``parallel`` -- autograde a class on every core: ``tasks`` (plan), ``pool`` and ``worker`` (grade),
  ``merge`` (the single gradebook writer), ``reporting``; ``scores`` and ``tables`` print the results;
* ``autograding`` -- the nbgrader preprocessors every route uses: sandboxed execution, hidden checks
  judged outside the kernel against ``expectations`` (the reference solution's records), skipping
  the cells ``demos`` names;
* ``sandbox``, ``launcher``, ``kernel_factory``, ``factory_client``, ``isolation`` -- the grading
  kernel: bubblewrap, the kernelspec's entry point (cold kernels), warm kernels forked per notebook
  (the factory, and the grader's side of it) and narrowed to one submission;
* ``submissions`` -- what is wrong with a submission, in words an instructor can pass on.
"""
