# Install-time: writes the man page and the shell completions that CKD_BINARY prints into
# CKD_SHARE (share/man/man1, and the directories bash-completion, zsh and fish look in).
foreach(item "man;man/man1/ckptdoctor.1"
             "completions;bash;bash-completion/completions/ckptdoctor"
             "completions;zsh;zsh/site-functions/_ckptdoctor"
             "completions;fish;fish/vendor_completions.d/ckptdoctor.fish")
  list(POP_BACK item destination)
  get_filename_component(dir "${CKD_SHARE}/${destination}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  message(STATUS "Installing: ${CKD_SHARE}/${destination}")
  execute_process(COMMAND "${CKD_BINARY}" ${item} OUTPUT_FILE "${CKD_SHARE}/${destination}"
                  COMMAND_ERROR_IS_FATAL ANY)
endforeach()
