# Warnings and sanitizers for every target of the project.
add_compile_options(-Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wvla -Wno-format-truncation)
if(NN_WERROR)
  add_compile_options(-Werror)
endif()
if(NN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
