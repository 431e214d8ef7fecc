// Image names as people write them, normalised the way docker and containerd
// store them: "busybox" -> "docker.io/library/busybox:latest",
// "quay.io/x/y" -> "quay.io/x/y:latest", a digest kept as "name@sha256:...".
#pragma once

#include <string>
#include <string_view>

namespace berth::images {

// Throws images_error (invalid_argument) naming the input and the rule broken.
std::string normalize_image_name(std::string_view name);

// True when `s` is a bare tag ("latest", "1.36"), as OCI layouts made by
// umoci or skopeo store in org.opencontainers.image.ref.name.
bool is_bare_tag(std::string_view s);

// "docker.io/library/busybox:latest" with `tag` replacing the tag.
std::string with_tag(const std::string& normalized, std::string_view tag);

}  // namespace berth::images
