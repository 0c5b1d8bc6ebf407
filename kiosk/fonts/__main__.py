from kiosk.fonts import main

raise SystemExit(main())
