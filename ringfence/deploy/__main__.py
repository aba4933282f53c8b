"""``python -m ringfence.deploy abi [OUT_DIR]``: the compiled contracts' ABIs (``make abi``)."""

from ringfence.deploy.abi_export import main

raise SystemExit(main())
