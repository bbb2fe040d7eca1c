// Starts the console's WASM once the page has been painted, so that the first paint never waits
// for it nor shares the network with it (the server-rendered page is readable and its links and
// forms work without it). The script and the WASM are then fetched side by side; compiling the
// WASM and hydrating the page are two tasks, so that neither holds the main thread for long.
(function (pkg, name) {
	const start = () => {
		const wasm = fetch(`${pkg}/${name}.wasm`);
		import(`${pkg}/${name}.js`)
			.then((mod) => mod.default({ module_or_path: wasm }).then(() => mod))
			.then((mod) => setTimeout(() => mod.hydrate(), 0));
	};
	// A page opened in a background tab paints nothing until it is shown: start right away.
	if (document.visibilityState === "hidden") start();
	else requestAnimationFrame(() => setTimeout(start, 0));
})
