"""Runs many gcloud command lines in one Python process, through gcloud's own CLI object.

Starting gcloud costs about a second of CPU per command (Python, then the command tree); the
deploy tests check hundreds of commands, so they load the tree once here and call
`cli.Execute(argv)` for each, exactly as `gcloud` does after its start-up.

Usage: python3 gcloud-batch.py SDK_LIB_DIR < [[argv...], ...] > [{"code", "stderr"}, ...]
Each command's stdout and stderr are captured together, at the file-descriptor level, since
gcloud's logger keeps its own handle on the streams.
"""

import json
import os
import sys
import tempfile

sdk_lib = sys.argv[1]
sys.path.insert(0, sdk_lib)
sys.path.insert(0, os.path.join(sdk_lib, 'third_party'))
if 'google' in sys.modules:
    # As gcloud.py does: prefer the SDK's vendored `google` package over a site-wide one.
    import importlib
    import google

    importlib.reload(google)

from googlecloudsdk import gcloud_main  # noqa: E402

commands = json.load(sys.stdin)
results_out = os.fdopen(os.dup(1), 'w')
cli = gcloud_main.CreateCLI([])

results = []
for argv in commands:
    with tempfile.TemporaryFile(mode='w+') as capture:
        sys.stdout.flush()
        sys.stderr.flush()
        saved_out, saved_err = os.dup(1), os.dup(2)
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        code = 0
        try:
            cli.Execute(argv, call_arg_complete=False)
        except SystemExit as exit_request:
            code = exit_request.code if isinstance(exit_request.code, int) else 1
        except BaseException as crash:  # a gcloud crash is an outcome to report, not to die of
            sys.stderr.write('CRASH: {!r}\n'.format(crash))
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        capture.seek(0)
        results.append({'code': code, 'stderr': capture.read()})

results_out.write(json.dumps(results))
results_out.flush()
