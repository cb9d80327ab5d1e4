{
  "targets": [
    {
      "target_name": "hvreplica",
      "conditions": [
        ["OS=='win'", {
          "sources": ["<!@(node native/list-sources.cjs win)"],
          "libraries": ["ole32.lib", "oleaut32.lib", "wbemuuid.lib"],
          "defines": ["WIN32_LEAN_AND_MEAN", "NOMINMAX", "_WIN32_WINNT=0x0A00"]
        }, {
          "sources": ["<!@(node native/list-sources.cjs posix)"]
        }]
      ],
      "include_dirs": ["native/src", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17" },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/sdl", "/guard:cf"] },
        "VCLinkerTool": { "AdditionalOptions": ["/guard:cf"] }
      }
    }
  ]
}
