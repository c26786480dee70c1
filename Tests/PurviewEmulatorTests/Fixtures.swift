// Real payloads from Microsoft's API specification examples and SDK test recordings
// (see /work/shared/purview/README.md), compact JSON with keys in their recorded order.

enum Fixtures {
    static let createWorkflowCommand2023 = #"""
        {
          "name": "Create glossary term workflow",
          "description": "",
          "triggers": [
            {
              "type": "when_term_creation_is_requested",
              "underGlossaryHierarchy": "/glossaries/20031e20-b4df-4a66-a61d-1b0716f3fa48"
            }
          ],
          "isEnabled": true,
          "actionDag": {
            "actions": {
              "Start and wait for an approval": {
                "type": "Approval",
                "inputs": {
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "Approval Request for Create Glossary Term",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ]
                  }
                },
                "runAfter": {}
              },
              "Condition": {
                "type": "If",
                "expression": {
                  "and": [
                    {
                      "equals": [
                        "@{outputs('Start and wait for an approval')['outcome']}",
                        "Approved"
                      ]
                    }
                  ]
                },
                "actions": {
                  "Create glossary term": {
                    "type": "CreateTerm",
                    "runAfter": {}
                  },
                  "Send email notification": {
                    "type": "EmailNotification",
                    "inputs": {
                      "parameters": {
                        "emailSubject": "Glossary Term Create - APPROVED",
                        "emailMessage": "Your request for Glossary Term @{runInput()['term']['name']} is approved.",
                        "emailRecipients": [
                          "@{runInput()['requestor']}"
                        ]
                      }
                    },
                    "runAfter": {
                      "Create glossary term": [
                        "Succeeded"
                      ]
                    }
                  }
                },
                "else": {
                  "actions": {
                    "Send reject email notification": {
                      "type": "EmailNotification",
                      "inputs": {
                        "parameters": {
                          "emailSubject": "Glossary Term Create - REJECTED",
                          "emailMessage": "Your request for Glossary Term @{runInput()['term']['name']} is rejected.",
                          "emailRecipients": [
                            "@{runInput()['requestor']}"
                          ]
                        }
                      },
                      "runAfter": {}
                    }
                  }
                },
                "runAfter": {
                  "Start and wait for an approval": [
                    "Succeeded"
                  ]
                }
              }
            }
          }
        }
        """#

    static let createWorkflowResponse2023 = #"""
        {
          "id": "179682a4-917d-11ed-a1eb-0242ac120002",
          "triggers": [
            {
              "type": "when_term_creation_is_requested",
              "underGlossaryHierarchy": "/glossaries/20031e20-b4df-4a66-a61d-1b0716f3fa48"
            }
          ],
          "createdTime": "2023-01-11T07:05:22.812901453Z",
          "createdBy": "eece94d9-0619-4669-bb8a-d6ecec5220bc",
          "lastUpdateTime": "2023-01-11T07:05:22.812901453Z",
          "updatedBy": "eece94d9-0619-4669-bb8a-d6ecec5220bc",
          "name": "Create glossary term workflow",
          "isEnabled": true,
          "description": "",
          "actionDag": {
            "actions": {
              "Start and wait for an approval": {
                "type": "Approval",
                "inputs": {
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "Approval Request for Create Glossary Term",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ]
                  }
                },
                "runAfter": {}
              },
              "Condition": {
                "type": "If",
                "expression": {
                  "and": [
                    {
                      "equals": [
                        "@{outputs('Start and wait for an approval')['outcome']}",
                        "Approved"
                      ]
                    }
                  ]
                },
                "actions": {
                  "Create glossary term": {
                    "type": "CreateTerm",
                    "runAfter": {}
                  },
                  "Send email notification": {
                    "type": "EmailNotification",
                    "inputs": {
                      "parameters": {
                        "emailSubject": "Glossary Term Create - APPROVED",
                        "emailMessage": "Your request for Glossary Term @{runInput()['term']['name']} is approved.",
                        "emailRecipients": [
                          "@{runInput()['requestor']}"
                        ]
                      }
                    },
                    "runAfter": {
                      "Create glossary term": [
                        "Succeeded"
                      ]
                    },
                    "runtimeConfiguration": {
                      "secureInput": false,
                      "secureOutput": false
                    }
                  }
                },
                "else": {
                  "actions": {
                    "Send reject email notification": {
                      "type": "EmailNotification",
                      "inputs": {
                        "parameters": {
                          "emailSubject": "Glossary Term Create - REJECTED",
                          "emailMessage": "Your request for Glossary Term @{runInput()['term']['name']} is rejected.",
                          "emailRecipients": [
                            "@{runInput()['requestor']}"
                          ]
                        }
                      },
                      "runAfter": {},
                      "runtimeConfiguration": {
                        "secureInput": false,
                        "secureOutput": false
                      }
                    }
                  }
                },
                "runAfter": {
                  "Start and wait for an approval": [
                    "Succeeded"
                  ]
                }
              }
            }
          }
        }
        """#

    static let getWorkflowResponse2023 = #"""
        {
          "id": "773b326e-751c-4277-96a6-c4f522e9750f",
          "triggers": [
            {
              "type": "when_term_creation_is_requested"
            }
          ],
          "createdTime": "2023-01-11T10:14:45.485999448Z",
          "createdBy": "eece94d9-0619-4669-bb8a-d6ecec5220bc",
          "lastUpdateTime": "2023-01-11T10:14:45.485999448Z",
          "updatedBy": "eece94d9-0619-4669-bb8a-d6ecec5220bc",
          "name": "Create glossary term",
          "isEnabled": true,
          "description": "",
          "actionDag": {
            "actions": {
              "Start and wait for an approval": {
                "type": "Approval",
                "inputs": {
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "Approval Request for Create Glossary Term",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ]
                  }
                },
                "runAfter": {}
              },
              "Condition": {
                "type": "If",
                "expression": {
                  "and": [
                    {
                      "equals": [
                        "@outputs('Start and wait for an approval')['body/outcome']",
                        "Approved"
                      ]
                    }
                  ]
                },
                "actions": {
                  "Create glossary term": {
                    "type": "CreateTerm",
                    "runAfter": {}
                  },
                  "Send email notification": {
                    "type": "EmailNotification",
                    "inputs": {
                      "parameters": {
                        "emailSubject": "Glossary Term Create - APPROVED",
                        "emailMessage": "Your request for Glossary Term @{triggerBody()['request']['term']['name']} is approved.",
                        "emailRecipients": [
                          "@{triggerBody()['request']['requestor']}"
                        ]
                      }
                    },
                    "runAfter": {
                      "Create glossary term": [
                        "Succeeded"
                      ]
                    },
                    "runtimeConfiguration": {
                      "secureInput": false,
                      "secureOutput": false
                    }
                  }
                },
                "else": {
                  "actions": {
                    "Send reject email notification": {
                      "type": "EmailNotification",
                      "inputs": {
                        "parameters": {
                          "emailSubject": "Glossary Term Create - REJECTED",
                          "emailMessage": "Your request for Glossary Term @{triggerBody()['request']['term']['name']} is rejected.",
                          "emailRecipients": [
                            "@{triggerBody()['request']['requestor']}"
                          ]
                        }
                      },
                      "runAfter": {},
                      "runtimeConfiguration": {
                        "secureInput": false,
                        "secureOutput": false
                      }
                    }
                  }
                },
                "runAfter": {
                  "Start and wait for an approval": [
                    "Succeeded"
                  ]
                }
              }
            }
          }
        }
        """#

    static let validateWorkflowCommand2023 = #"""
        {
          "name": "Create glossary term workflow",
          "description": "",
          "triggers": [
            {
              "type": "when_term_creation_is_requested",
              "underGlossaryHierarchy": "/glossaries/20031e20-b4df-4a66-a61d-1b0716f3fa48"
            }
          ],
          "isEnabled": true,
          "actionDag": {
            "actions": {
              "Start and wait for an approval": {
                "type": "Approval",
                "inputs": {
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "Approval Request for Create Glossary Term",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ]
                  }
                },
                "runAfter": {}
              },
              "Condition": {
                "type": "If",
                "expression": {
                  "and": [
                    {
                      "equals": [
                        "@outputs('Start and wait for an approval')['body/outcome']",
                        "Approved"
                      ]
                    }
                  ]
                },
                "actions": {
                  "Create glossary term": {
                    "type": "CreateTerm",
                    "runAfter": {}
                  },
                  "Send email notification": {
                    "type": "EmailNotification",
                    "inputs": {
                      "parameters": {
                        "emailSubject": "Glossary Term Create - APPROVED",
                        "emailMessage": "Your request for Glossary Term @{triggerBody()['request']['term']['name']} is approved.",
                        "emailRecipients": [
                          "@{triggerBody()['request']['requestor']}"
                        ]
                      }
                    },
                    "runAfter": {
                      "Create glossary term": [
                        "Succeeded"
                      ]
                    }
                  }
                },
                "else": {
                  "actions": {
                    "Send reject email notification": {
                      "type": "EmailNotification",
                      "inputs": {
                        "parameters": {
                          "emailSubject": "Glossary Term Create - REJECTED",
                          "emailMessage": "Your request for Glossary Term @{triggerBody()['request']['term']['name']} is rejected.",
                          "emailRecipients": [
                            "@{triggerBody()['request']['requestor']}"
                          ]
                        }
                      },
                      "runAfter": {}
                    }
                  }
                },
                "runAfter": {
                  "Start and wait for an approval": [
                    "Succeeded"
                  ]
                }
              }
            }
          }
        }
        """#

    static let validateWorkflowResponse2023 = #"""
        {
          "value": [
            {
              "severity": "error",
              "location": {
                "type": "actionParameter",
                "actionName": "Email notification action",
                "parameterKey": "emailMessage"
              },
              "message": "There's a parameter type error for the function call \"startsWith()\". Actual: (), expected: (string,string)."
            }
          ]
        }
        """#

    static let submitUserRequest2023 = #"""
        {
          "operations": [
            {
              "type": "CreateTerm",
              "payload": {
                "glossaryTerm": {
                  "name": "term",
                  "anchor": {
                    "glossaryGuid": "20031e20-b4df-4a66-a61d-1b0716f3fa48"
                  },
                  "status": "Approved",
                  "nickName": "term"
                }
              }
            }
          ],
          "comment": "Thanks!"
        }
        """#

    static let submitUserRequestResponse2023 = #"""
        {
          "requestId": "26026374-f2f6-4627-b2f4-ba2db93c7e2c",
          "requestor": "eece94d9-0619-4669-bb8a-d6ecec5220bc",
          "operations": [
            {
              "type": "CreateTerm",
              "payload": {
                "glossaryTerm": {
                  "name": "term",
                  "anchor": {
                    "glossaryGuid": "20031e20-b4df-4a66-a61d-1b0716f3fa48"
                  },
                  "status": "Approved",
                  "nickName": "term"
                }
              },
              "workflowRunIds": [
                "26026374-f2f6-4627-b2f4-ba2db93c7e2c"
              ]
            }
          ],
          "comment": "Thanks!",
          "status": "InProgress"
        }
        """#

    static let workflowRunExample2022 = #"""
        {
          "id": "4f8d70c3-c09b-4e56-bfd1-8b86c79bd4d9",
          "workflowId": "3fb9ba13-bf35-4f29-ab63-70b5234923c2",
          "startTime": "2023-01-12T09:36:11.533263721Z",
          "requestor": "eece94d9-0619-4669-bb8a-d6ecec5220bc",
          "runPayload": {
            "type": "CreateTerm",
            "targetValue": "term123",
            "payload": {
              "glossaryTerm": {
                "name": "term123",
                "anchor": {
                  "glossaryGuid": "20031e20-b4df-4a66-a61d-1b0716f3fa48"
                },
                "status": "Approved",
                "nickName": "term123",
                "attributes": {}
              }
            }
          },
          "status": "InProgress",
          "actionDag": {
            "actions": {
              "Start and wait for an approval": {
                "type": "Approval",
                "inputs": {
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "Approval Request for Create Glossary Term",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ],
                    "reminderSettings": {
                      "interval": "1 day"
                    },
                    "expirySettings": {
                      "expireAfter": "1 month",
                      "notifyOnExpiration": []
                    }
                  }
                },
                "runAfter": {}
              },
              "Condition": {
                "type": "If",
                "expression": {
                  "and": [
                    {
                      "equals": [
                        "@outputs('Start and wait for an approval')['body/outcome']",
                        "Approved"
                      ]
                    }
                  ]
                },
                "actions": {
                  "Create glossary term": {
                    "type": "CreateTerm",
                    "runAfter": {}
                  },
                  "Send email notification": {
                    "type": "EmailNotification",
                    "inputs": {
                      "parameters": {
                        "emailSubject": "Glossary Term Create - APPROVED",
                        "emailMessage": "Your request for Glossary Term @{triggerBody()['request']['term']['name']} is approved.",
                        "emailRecipients": [
                          "@{triggerBody()['request']['requestor']}"
                        ]
                      }
                    },
                    "runAfter": {
                      "Create glossary term": [
                        "Succeeded"
                      ]
                    },
                    "runtimeConfiguration": {
                      "secureInput": false,
                      "secureOutput": false
                    }
                  }
                },
                "else": {
                  "actions": {
                    "Send reject email notification": {
                      "type": "EmailNotification",
                      "inputs": {
                        "parameters": {
                          "emailSubject": "Glossary Term Create - REJECTED",
                          "emailMessage": "Your request for Glossary Term @{triggerBody()['request']['term']['name']} is rejected.",
                          "emailRecipients": [
                            "@{triggerBody()['request']['requestor']}"
                          ]
                        }
                      },
                      "runAfter": {},
                      "runtimeConfiguration": {
                        "secureInput": false,
                        "secureOutput": false
                      }
                    }
                  }
                },
                "runAfter": {
                  "Start and wait for an approval": [
                    "Succeeded"
                  ]
                }
              }
            }
          },
          "detail": {
            "runInput": {
              "request": {
                "requestor": "eece94d9-0619-4669-bb8a-d6ecec5220bc",
                "term": {
                  "name": "term123",
                  "formalName": "term123",
                  "definition": null,
                  "experts": [],
                  "stewards": [],
                  "parent": null
                }
              }
            },
            "actions": {
              "Start and wait for an approval": {
                "startTime": "2023-01-12T09:36:12.347229300Z",
                "status": "Running",
                "input": {
                  "type": "inlined",
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "Approval Request for Create Glossary Term",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ],
                    "reminderSettings": {
                      "interval": "1 day"
                    },
                    "expirySettings": {
                      "expireAfter": "1 month",
                      "notifyOnExpiration": []
                    }
                  }
                }
              }
            }
          }
        }
        """#

    static let workflowTaskExample2022 = #"""
        {
          "type": "Approval",
          "id": "54b7ccdb-0b09-427e-8105-61a8dd4b1309",
          "workflowRunId": "2245c5e1-63d0-436a-b1c0-8252f03f0e17",
          "workflowId": "3fb9ba13-bf35-4f29-ab63-70b5234923c2",
          "requestor": "eece94d9-0619-4669-bb8a-d6ecec5220bc",
          "createdTime": "2023-01-13T09:57:59.878107314Z",
          "lastUpdateTime": "2023-01-13T09:58:08.034872193Z",
          "payload": {
            "type": "CreateTerm",
            "targetValue": "term",
            "payload": {
              "glossaryTerm": {
                "name": "term",
                "anchor": {
                  "glossaryGuid": "20031e20-b4df-4a66-a61d-1b0716f3fa48"
                },
                "status": "Approved",
                "nickName": "term",
                "attributes": {}
              }
            }
          },
          "title": "Approval Request for Create Glossary Term",
          "reminderInfo": {
            "lastRemindTime": "2023-01-16T09:57:59.878107314Z",
            "nextRemindTime": "2023-01-18T09:57:59.878107314Z",
            "reminderSettings": {
              "reminderFrequency": {
                "Day": {
                  "number": 1
                }
              }
            }
          },
          "expiryInfo": {
            "nextExpiryNotificationTime": "2023-02-12T09:57:59.878107314Z",
            "expiryTime": "2023-02-12T09:57:59.878107314Z",
            "expirySettings": {
              "expireAfter": {
                "Month": {
                  "number": 1
                }
              },
              "notifyOnExpiration": []
            }
          },
          "approvalDetail": {
            "approvalType": "PendingOnAll",
            "status": "Pending",
            "approvers": {
              "eece94d9-0619-4669-bb8a-d6ecec5220bc": {
                "reply": "Approved",
                "comment": "Thanks!",
                "responseTime": "2023-02-06T09:57:46.056708512Z"
              }
            }
          }
        }
        """#

    static let javaPutRequest = #"""
        {
          "name": "Create glossary term workflow",
          "description": "",
          "triggers": [
            {
              "type": "when_term_creation_is_requested",
              "underGlossaryHierarchy": "/glossaries/20031e20-b4df-4a66-a61d-1b0716f3fa48"
            }
          ],
          "isEnabled": true,
          "actionDag": {
            "actions": {
              "Startandwaitforanapproval": {
                "type": "Approval",
                "inputs": {
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "ApprovalRequestforCreateGlossaryTerm",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ]
                  }
                },
                "runAfter": {}
              },
              "Condition": {
                "type": "If",
                "expression": {
                  "and": [
                    {
                      "equals": [
                        "@outputs('Startandwaitforanapproval')['body/outcome']",
                        "Approved"
                      ]
                    }
                  ]
                },
                "actions": {
                  "Createglossaryterm": {
                    "type": "CreateTerm",
                    "runAfter": {}
                  },
                  "Sendemailnotification": {
                    "type": "EmailNotification",
                    "inputs": {
                      "parameters": {
                        "emailSubject": "GlossaryTermCreate-APPROVED",
                        "emailMessage": "YourrequestforGlossaryTerm@{triggerBody()['request']['term']['name']}isapproved.",
                        "emailRecipients": [
                          "@{triggerBody()['request']['requestor']}"
                        ]
                      }
                    },
                    "runAfter": {
                      "Createglossaryterm": [
                        "Succeeded"
                      ]
                    }
                  }
                },
                "else": {
                  "actions": {
                    "Sendrejectemailnotification": {
                      "type": "EmailNotification",
                      "inputs": {
                        "parameters": {
                          "emailSubject": "GlossaryTermCreate-REJECTED",
                          "emailMessage": "YourrequestforGlossaryTerm@{triggerBody()['request']['term']['name']}isrejected.",
                          "emailRecipients": [
                            "@{triggerBody()['request']['requestor']}"
                          ]
                        }
                      },
                      "runAfter": {}
                    }
                  }
                },
                "runAfter": {
                  "Startandwaitforanapproval": [
                    "Succeeded"
                  ]
                }
              }
            }
          }
        }
        """#

    static let javaPutResponse = #"""
        {
          "id": "4afb5752-e47f-43a1-8ba7-c696bf8d2745",
          "type": "UserManaged",
          "triggers": [
            {
              "type": "when_term_creation_is_requested",
              "underGlossaryHierarchy": "/glossaries/20031e20-b4df-4a66-a61d-1b0716f3fa48"
            }
          ],
          "createdTime": "2023-07-20T16:52:33.939358553Z",
          "createdBy": "00000000-0000-0000-0000-000000000000",
          "lastUpdateTime": "2023-07-20T19:16:33.903898433Z",
          "updatedBy": "00000000-0000-0000-0000-000000000000",
          "name": "Create glossary term workflow",
          "isEnabled": true,
          "description": "",
          "actionDag": {
            "actions": {
              "Startandwaitforanapproval": {
                "type": "Approval",
                "inputs": {
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "ApprovalRequestforCreateGlossaryTerm",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ]
                  }
                },
                "runAfter": {},
                "runtimeConfiguration": {
                  "aggregateEmails": false
                }
              },
              "Condition": {
                "type": "If",
                "expression": {
                  "and": [
                    {
                      "equals": [
                        "@outputs('Startandwaitforanapproval')['body/outcome']",
                        "Approved"
                      ]
                    }
                  ]
                },
                "actions": {
                  "Createglossaryterm": {
                    "type": "CreateTerm",
                    "runAfter": {}
                  },
                  "Sendemailnotification": {
                    "type": "EmailNotification",
                    "inputs": {
                      "parameters": {
                        "emailSubject": "GlossaryTermCreate-APPROVED",
                        "emailMessage": "YourrequestforGlossaryTerm@{triggerBody()['request']['term']['name']}isapproved.",
                        "emailRecipients": [
                          "@{triggerBody()['request']['requestor']}"
                        ]
                      }
                    },
                    "runAfter": {
                      "Createglossaryterm": [
                        "Succeeded"
                      ]
                    },
                    "runtimeConfiguration": {
                      "secureInput": false,
                      "secureOutput": false,
                      "aggregateEmails": false
                    }
                  }
                },
                "else": {
                  "actions": {
                    "Sendrejectemailnotification": {
                      "type": "EmailNotification",
                      "inputs": {
                        "parameters": {
                          "emailSubject": "GlossaryTermCreate-REJECTED",
                          "emailMessage": "YourrequestforGlossaryTerm@{triggerBody()['request']['term']['name']}isrejected.",
                          "emailRecipients": [
                            "@{triggerBody()['request']['requestor']}"
                          ]
                        }
                      },
                      "runAfter": {},
                      "runtimeConfiguration": {
                        "secureInput": false,
                        "secureOutput": false,
                        "aggregateEmails": false
                      }
                    }
                  }
                },
                "runAfter": {
                  "Startandwaitforanapproval": [
                    "Succeeded"
                  ]
                }
              }
            }
          }
        }
        """#

    static let javaGetResponse = #"""
        {
          "id": "4afb5752-e47f-43a1-8ba7-c696bf8d2745",
          "type": "UserManaged",
          "triggers": [
            {
              "type": "when_term_creation_is_requested",
              "underGlossaryHierarchy": "/glossaries/20031e20-b4df-4a66-a61d-1b0716f3fa48"
            }
          ],
          "createdTime": "2023-07-20T16:52:33.939358553Z",
          "createdBy": "00000000-0000-0000-0000-000000000000",
          "lastUpdateTime": "2023-07-20T19:16:33.903898433Z",
          "updatedBy": "00000000-0000-0000-0000-000000000000",
          "name": "Create glossary term workflow",
          "isEnabled": true,
          "description": "",
          "actionDag": {
            "actions": {
              "Startandwaitforanapproval": {
                "type": "Approval",
                "inputs": {
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "ApprovalRequestforCreateGlossaryTerm",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ]
                  }
                },
                "runAfter": {},
                "runtimeConfiguration": {
                  "aggregateEmails": false
                }
              },
              "Condition": {
                "type": "If",
                "expression": {
                  "and": [
                    {
                      "equals": [
                        "@{outputs('Startandwaitforanapproval')['outcome']}",
                        "Approved"
                      ]
                    }
                  ]
                },
                "actions": {
                  "Createglossaryterm": {
                    "type": "CreateTerm",
                    "runAfter": {}
                  },
                  "Sendemailnotification": {
                    "type": "EmailNotification",
                    "inputs": {
                      "parameters": {
                        "emailSubject": "GlossaryTermCreate-APPROVED",
                        "emailMessage": "YourrequestforGlossaryTerm@{runInput()['term']['name']}isapproved.",
                        "emailRecipients": [
                          "@{runInput()['requestor']}"
                        ]
                      }
                    },
                    "runAfter": {
                      "Createglossaryterm": [
                        "Succeeded"
                      ]
                    },
                    "runtimeConfiguration": {
                      "secureInput": false,
                      "secureOutput": false,
                      "aggregateEmails": false
                    }
                  }
                },
                "else": {
                  "actions": {
                    "Sendrejectemailnotification": {
                      "type": "EmailNotification",
                      "inputs": {
                        "parameters": {
                          "emailSubject": "GlossaryTermCreate-REJECTED",
                          "emailMessage": "YourrequestforGlossaryTerm@{runInput()['term']['name']}isrejected.",
                          "emailRecipients": [
                            "@{runInput()['requestor']}"
                          ]
                        }
                      },
                      "runAfter": {},
                      "runtimeConfiguration": {
                        "secureInput": false,
                        "secureOutput": false,
                        "aggregateEmails": false
                      }
                    }
                  }
                },
                "runAfter": {
                  "Startandwaitforanapproval": [
                    "Succeeded"
                  ]
                }
              }
            }
          }
        }
        """#

    static let javaRunGetResponse = #"""
        {
          "id": "dc66f68a-aab6-4677-951c-425607756cf1",
          "workflowId": "4afb5752-e47f-43a1-8ba7-c696bf8d2745",
          "startTime": "2023-07-20T19:15:50.104809019Z",
          "requestor": "00000000-0000-0000-0000-000000000000",
          "runPayload": {
            "type": "CreateTerm",
            "targetValue": "term",
            "payload": {
              "glossaryTerm": {
                "name": "term",
                "anchor": {
                  "glossaryGuid": "20031e20-b4df-4a66-a61d-1b0716f3fa48"
                },
                "nickName": "term",
                "status": "Approved"
              }
            }
          },
          "status": "Failed",
          "endTime": "2023-07-20T19:15:51.543077914Z",
          "actionDag": {
            "actions": {
              "Startandwaitforanapproval": {
                "type": "Approval",
                "inputs": {
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "ApprovalRequestforCreateGlossaryTerm",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ]
                  }
                },
                "runAfter": {},
                "runtimeConfiguration": {
                  "aggregateEmails": false
                }
              },
              "Condition": {
                "type": "If",
                "expression": {
                  "and": [
                    {
                      "equals": [
                        "@{outputs('Startandwaitforanapproval')['outcome']}",
                        "Approved"
                      ]
                    }
                  ]
                },
                "actions": {
                  "Createglossaryterm": {
                    "type": "CreateTerm",
                    "runAfter": {}
                  },
                  "Sendemailnotification": {
                    "type": "EmailNotification",
                    "inputs": {
                      "parameters": {
                        "emailSubject": "GlossaryTermCreate-APPROVED",
                        "emailMessage": "YourrequestforGlossaryTerm@{runInput()['term']['name']}isapproved.",
                        "emailRecipients": [
                          "@{runInput()['requestor']}"
                        ]
                      }
                    },
                    "runAfter": {
                      "Createglossaryterm": [
                        "Succeeded"
                      ]
                    },
                    "runtimeConfiguration": {
                      "secureInput": false,
                      "secureOutput": false,
                      "aggregateEmails": false
                    }
                  }
                },
                "else": {
                  "actions": {
                    "Sendrejectemailnotification": {
                      "type": "EmailNotification",
                      "inputs": {
                        "parameters": {
                          "emailSubject": "GlossaryTermCreate-REJECTED",
                          "emailMessage": "YourrequestforGlossaryTerm@{runInput()['term']['name']}isrejected.",
                          "emailRecipients": [
                            "@{runInput()['requestor']}"
                          ]
                        }
                      },
                      "runAfter": {},
                      "runtimeConfiguration": {
                        "secureInput": false,
                        "secureOutput": false,
                        "aggregateEmails": false
                      }
                    }
                  }
                },
                "runAfter": {
                  "Startandwaitforanapproval": [
                    "Succeeded"
                  ]
                }
              }
            }
          },
          "detail": {
            "trigger": {
              "type": "when_term_creation_is_requested",
              "underGlossaryHierarchy": "/glossaries/20031e20-b4df-4a66-a61d-1b0716f3fa48"
            },
            "runInput": {
              "requestor": "00000000-0000-0000-0000-000000000000",
              "term": {
                "name": "term",
                "formalName": "term",
                "definition": null,
                "experts": [],
                "stewards": [],
                "parent": null
              }
            },
            "actions": {
              "Startandwaitforanapproval": {
                "startTime": "2023-07-20T19:15:50.427511700Z",
                "endTime": "2023-07-20T19:15:50.667355300Z",
                "status": "Failed",
                "output": {
                  "type": "inlined",
                  "error": {
                    "requestId": "9d8f0b10-026e-43b0-aaa1-5ddbf952ab9f",
                    "code": "Workflow.UserDataClient.CanNotFindEmailForUsers",
                    "message": "Users not found: [eece94d9-0619-4669-bb8a-d6ecec5220bc]"
                  }
                },
                "input": {
                  "type": "inlined",
                  "parameters": {
                    "approvalType": "PendingOnAll",
                    "title": "ApprovalRequestforCreateGlossaryTerm",
                    "assignedTo": [
                      "eece94d9-0619-4669-bb8a-d6ecec5220bc"
                    ]
                  }
                }
              },
              "Condition": {
                "startTime": "2023-07-20T19:15:51.405451Z",
                "endTime": "2023-07-20T19:15:51.405955400Z",
                "status": "Skipped"
              },
              "Sendrejectemailnotification": {
                "startTime": "2023-07-20T19:15:51.376733500Z",
                "endTime": "2023-07-20T19:15:51.378736900Z",
                "status": "Skipped"
              },
              "Createglossaryterm": {
                "startTime": "2023-07-20T19:15:51.263860200Z",
                "endTime": "2023-07-20T19:15:51.264609900Z",
                "status": "Skipped"
              },
              "Sendemailnotification": {
                "startTime": "2023-07-20T19:15:51.338232300Z",
                "endTime": "2023-07-20T19:15:51.343609400Z",
                "status": "Skipped"
              }
            }
          }
        }
        """#

    static let javaRunsListResponse = #"""
        {
          "value": [
            {
              "id": "dc66f68a-aab6-4677-951c-425607756cf1",
              "workflowId": "4afb5752-e47f-43a1-8ba7-c696bf8d2745",
              "startTime": "2023-07-20T19:15:50.104809019Z",
              "requestor": "00000000-0000-0000-0000-000000000000",
              "userRequestId": "dc66f68a-aab6-4677-951c-425607756cf1",
              "runPayload": {
                "type": "CreateTerm",
                "targetValue": "term"
              },
              "status": "Failed",
              "endTime": "2023-07-20T19:15:51.543077914Z"
            },
            {
              "id": "8cfdf663-0edc-4329-b5dc-2599a52ff5e1",
              "workflowId": "4afb5752-e47f-43a1-8ba7-c696bf8d2745",
              "startTime": "2023-07-20T19:15:16.986616899Z",
              "requestor": "00000000-0000-0000-0000-000000000000",
              "userRequestId": "8cfdf663-0edc-4329-b5dc-2599a52ff5e1",
              "runPayload": {
                "type": "CreateTerm",
                "targetValue": "term"
              },
              "status": "Failed",
              "endTime": "2023-07-20T19:15:18.137600177Z"
            },
            {
              "id": "304c5b1c-62ec-4bad-b036-83f5003f5704",
              "workflowId": "4afb5752-e47f-43a1-8ba7-c696bf8d2745",
              "startTime": "2023-07-20T19:14:55.312239720Z",
              "requestor": "00000000-0000-0000-0000-000000000000",
              "userRequestId": "304c5b1c-62ec-4bad-b036-83f5003f5704",
              "runPayload": {
                "type": "CreateTerm",
                "targetValue": "term"
              },
              "status": "Failed",
              "endTime": "2023-07-20T19:14:56.351757419Z"
            },
            {
              "id": "480e2aa7-56f2-42c2-99bc-be79c7c70ce7",
              "workflowId": "4afb5752-e47f-43a1-8ba7-c696bf8d2745",
              "startTime": "2023-07-20T17:10:22.834489981Z",
              "requestor": "00000000-0000-0000-0000-000000000000",
              "userRequestId": "480e2aa7-56f2-42c2-99bc-be79c7c70ce7",
              "runPayload": {
                "type": "CreateTerm",
                "targetValue": "term"
              },
              "status": "Failed",
              "endTime": "2023-07-20T17:10:23.857197080Z"
            },
            {
              "id": "8a56f63d-69e7-4725-90a2-25f66cb1a261",
              "workflowId": "4afb5752-e47f-43a1-8ba7-c696bf8d2745",
              "startTime": "2023-07-20T17:08:40.635511495Z",
              "requestor": "00000000-0000-0000-0000-000000000000",
              "userRequestId": "8a56f63d-69e7-4725-90a2-25f66cb1a261",
              "runPayload": {
                "type": "CreateTerm",
                "targetValue": "term"
              },
              "status": "Failed",
              "endTime": "2023-07-20T17:08:41.524573232Z"
            }
          ]
        }
        """#

    static let javaTasksListResponse = #"""
        {
          "value": [
            {
              "type": "Approval",
              "id": "693f62ad-79f5-4364-822a-d85d7238e47e",
              "workflowRunId": "aa50d148-c756-45fa-b87b-5ec142fe080c",
              "workflowId": "3f7a14f2-c9cd-4fe4-96df-ed3447256118",
              "requestor": "REDACTED",
              "createdTime": "2023-07-21T05:14:42.704854508Z",
              "lastUpdateTime": "2023-07-21T05:14:49.909374069Z",
              "payload": {
                "type": "CreateTerm",
                "targetValue": "term0720"
              },
              "title": "Approval Request for Create Glossary Term",
              "approvalDetail": {
                "approvalType": "PendingOnAll",
                "status": "Pending",
                "approvers": {
                  "285c34a9-c3d0-4a53-8eed-e2e3eaecb662": {
                    "reply": "Pending"
                  }
                }
              }
            },
            {
              "type": "Approval",
              "id": "993a553c-09e7-4f10-9732-ca9b714defc4",
              "workflowRunId": "9bafa273-b388-4fcc-9a6e-c7f90f163ba2",
              "workflowId": "3f7a14f2-c9cd-4fe4-96df-ed3447256118",
              "requestor": "REDACTED",
              "createdTime": "2023-07-21T05:13:34.702644149Z",
              "lastUpdateTime": "2023-07-21T05:13:41.926137593Z",
              "payload": {
                "type": "CreateTerm",
                "targetValue": "term0721"
              },
              "title": "Approval Request for Create Glossary Term",
              "approvalDetail": {
                "approvalType": "PendingOnAll",
                "status": "Pending",
                "approvers": {
                  "285c34a9-c3d0-4a53-8eed-e2e3eaecb662": {
                    "reply": "Pending"
                  }
                }
              }
            }
          ]
        }
        """#

    static let javaSubmitRequest = #"""
        {
          "comment": "Thanks!",
          "operations": [
            {
              "type": "CreateTerm",
              "payload": {
                "glossaryTerm": {
                  "name": "term",
                  "anchor": {
                    "glossaryGuid": "20031e20-b4df-4a66-a61d-1b0716f3fa48"
                  },
                  "nickName": "term",
                  "status": "Approved"
                }
              }
            }
          ]
        }
        """#

    static let javaSubmitResponse = #"""
        {
          "requestId": "dc66f68a-aab6-4677-951c-425607756cf1",
          "requestor": "00000000-0000-0000-0000-000000000000",
          "operations": [
            {
              "type": "CreateTerm",
              "payload": {
                "glossaryTerm": {
                  "name": "term",
                  "anchor": {
                    "glossaryGuid": "20031e20-b4df-4a66-a61d-1b0716f3fa48"
                  },
                  "nickName": "term",
                  "status": "Approved"
                }
              },
              "workflowRunIds": [
                "dc66f68a-aab6-4677-951c-425607756cf1"
              ]
            }
          ],
          "comment": "Thanks!",
          "status": "InProgress"
        }
        """#

    static let pythonListWorkflowsResponse2023 = #"""
        {
          "value": [
            {
              "id": "3a05afbc-a37a-4f9a-a88d-3eacea8f7348",
              "type": "UserManaged",
              "triggers": [
                {
                  "type": "when_term_creation_is_requested",
                  "underGlossaryHierarchy": "/terms/5a2e74da-32f4-408d-9e67-3d4da9215470"
                }
              ],
              "createdTime": "2023-06-17T10:24:40.578627943Z",
              "createdBy": "ebd5d73f-ebd1-40bc-8f63-6d3724957d15",
              "lastUpdateTime": "2023-07-21T05:48:28.077445275Z",
              "updatedBy": "83ffc40f-f670-49b0-a17e-30c7f74f209a",
              "name": "CreateTerm18244020230617",
              "isEnabled": false,
              "description": ""
            },
            {
              "id": "3f7a14f2-c9cd-4fe4-96df-ed3447256118",
              "type": "UserManaged",
              "triggers": [
                {
                  "type": "when_term_creation_is_requested",
                  "underGlossaryHierarchy": "/glossaries/5dae5e5b-5aa6-48f1-9e46-26fe7328de71"
                }
              ],
              "createdTime": "2023-07-21T05:13:16.782336737Z",
              "createdBy": "285c34a9-c3d0-4a53-8eed-e2e3eaecb662",
              "lastUpdateTime": "2023-07-21T06:39:59.044877631Z",
              "updatedBy": "83ffc40f-f670-49b0-a17e-30c7f74f209a",
              "name": "Create glossary term",
              "isEnabled": true,
              "description": ""
            },
            {
              "id": "2597b427-761d-4adc-921b-d5386b6ff738",
              "type": "UserManaged",
              "triggers": [
                {
                  "type": "when_data_access_grant_is_requested",
                  "underCollection": "test-create-account",
                  "eligibleAssetFilter": {
                    "type": "underCollection",
                    "value": "test-create-account"
                  }
                }
              ],
              "createdTime": "2023-07-21T05:52:44.019997580Z",
              "createdBy": "285c34a9-c3d0-4a53-8eed-e2e3eaecb662",
              "lastUpdateTime": "2023-07-21T05:52:44.019997580Z",
              "updatedBy": "285c34a9-c3d0-4a53-8eed-e2e3eaecb662",
              "name": "Data access request",
              "isEnabled": true,
              "description": ""
            }
          ]
        }
        """#
}
