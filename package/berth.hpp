// berth as a library, for a program that embeds berth's actors in its own CAF
// actor system: the one header such a program includes. It brings the typed
// actor interfaces (registry, container, task, images, events, store), their
// message types, berth_config, add_berth_types, start_berth and stop_berth.
// docs/embedding.md has the whole story and examples/embed/ a program.
//
// Installed as <prefix>/include/berth/berth.hpp; the headers behind it keep
// their paths in berth's tree under <prefix>/include/berth/ (actors/...,
// schema/...), which is why both include directories are on the path.
#pragma once

#include "actors/daemon/berth.hpp"
